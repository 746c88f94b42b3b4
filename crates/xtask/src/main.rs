//! `cargo xtask`: the repository's chores, with no tools beyond cargo.
//!
//! - `openapi write`  regenerates `openapi/<svc>.json` and each client crate's copy from code.
//! - `openapi check`  fails, naming the file, when a checked-in spec differs from the code.
//! - `openapi diff --base <ref>`  lists changes since a git ref as breaking or compatible, and
//!   fails on a breaking change without a major version bump.
//! - `test`  runs the whole suite on SQLite, then on a throwaway PostgreSQL.
//! - `fuzz`  runs schemathesis with every check against each service's spec, on a platform it
//!   starts on loopback, and fails on any finding.
//! - `deprecation-report <service> <operation_id>`  lists the apps that still call an operation,
//!   next to its sunset date (from analytics).
//! - `bench`  measures the platform against its ceilings, in one run (release build; the services
//!   as separate processes; `--db postgres` beside pgbench).
//!
//! The contract chores (`openapi`, `fuzz`, `deprecation-report`) read each service's spec from
//! its code, so they need every service built; they live in `chorus-contracts`, which this
//! forwards them to. xtask itself stays light: `cargo xtask bench` on a fresh checkout builds the
//! release binaries it measures and little else.

mod bench;
mod postgres;
mod rules;
mod test;
mod tools;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The subcommands `chorus-contracts` runs, with the same arguments.
const CONTRACT_COMMANDS: [&str; 3] = ["openapi", "fuzz", "deprecation-report"];

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    after_help = "Contract chores (run by chorus-contracts, with the same arguments):\n  \
                  openapi write|check|diff --base <ref>\n  \
                  fuzz [--examples N] [--service NAME]\n  \
                  deprecation-report <service> <operation_id>"
)]
struct Cli {
    #[command(subcommand)]
    command: Chore,
}

#[derive(Subcommand)]
enum Chore {
    /// Run every test on SQLite, then on a throwaway PostgreSQL.
    Test {
        /// Only run on SQLite.
        #[arg(long)]
        sqlite_only: bool,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Measure the platform in one run (release build), its services as separate processes,
    /// against its ceilings: a bare handler, and on PostgreSQL pgbench too.
    Bench {
        /// Where the platform's data lives (default: SQLite for the SDK scenario, PostgreSQL for
        /// ingest).
        #[arg(long, value_enum)]
        db: Option<bench::BenchDb>,
        /// What to measure.
        #[arg(long, value_enum, default_value = "sdk")]
        scenario: bench::Scenario,
        /// Arguments for the load generator, such as `--seconds 20` (after `--`).
        #[arg(last = true)]
        bench_args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|first| CONTRACT_COMMANDS.contains(&first.as_str())) {
        return contracts(&args);
    }
    let outcome = match Cli::parse().command {
        Chore::Test { sqlite_only, cargo_args } => test::run(sqlite_only, &cargo_args),
        Chore::Bench { db, scenario, bench_args } => bench::run(db, scenario, &bench_args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a contract chore in `chorus-contracts`, passing its exit status on.
fn contracts(args: &[String]) -> ExitCode {
    let mut command = cargo();
    command.args(["run", "--quiet", "--package", "chorus-contracts", "--"]).args(args);
    if args.first().is_some_and(|first| first == "fuzz") {
        match tools::SCHEMATHESIS.ensure() {
            Ok(st) => command.env(tools::SCHEMATHESIS_VAR, st),
            Err(error) => {
                eprintln!("xtask: {error:#}");
                return ExitCode::FAILURE;
            }
        };
    }
    let status = command.status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(1)),
        Err(error) => {
            eprintln!("xtask: running chorus-contracts: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs xtask (`CARGO`), so the same toolchain builds everything, at the
/// workspace root.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("xtask lives in crates/xtask").to_path_buf()
}
