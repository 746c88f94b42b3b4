//! `chorus-contracts`: the published contracts' chores, run as `cargo xtask openapi …`, `cargo
//! xtask fuzz` and `cargo xtask deprecation-report …` (xtask forwards them here).
//!
//! - `openapi write`  regenerates `openapi/<svc>.json` and each client crate's copy from code.
//! - `openapi check`  fails, naming the file, when a checked-in spec differs from the code.
//! - `openapi diff --base <ref>`  lists changes since a git ref as breaking or compatible, and
//!   fails on a breaking change without a major version bump.
//! - `fuzz`  runs schemathesis with every check against each service's spec, on a platform it
//!   starts on loopback, and fails on any finding.
//! - `deprecation-report <service> <operation_id>`  lists the apps that still call an operation,
//!   next to its sunset date (from analytics).
//!
//! Each spec is read from its service's code (utoipa), so this crate depends on every service.

mod deprecation;
mod diff;
mod fuzz;
mod openapi;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the published OpenAPI contracts.
    Openapi {
        #[command(subcommand)]
        action: OpenapiAction,
    },
    /// Fuzz every service's contract with schemathesis (all checks); fail on any finding.
    Fuzz {
        /// Examples per operation and phase.
        #[arg(long, default_value_t = 25)]
        examples: u32,
        /// Only these services (default: all).
        #[arg(long = "service")]
        services: Vec<String>,
    },
    /// List the apps that still call an operation, next to its deprecation and sunset dates.
    DeprecationReport {
        /// users, actions, notifications or analytics.
        service: String,
        /// The operation id, such as `like`.
        operation_id: String,
        /// The analytics service.
        #[arg(long, env = "CHORUS_ANALYTICS_URL", default_value = "http://127.0.0.1:8084")]
        analytics_url: String,
        /// The operator token; default: the launcher's, from .chorus/credentials.json.
        #[arg(long, env = "CHORUS_OPERATOR_TOKEN")]
        operator_token: Option<String>,
        /// From this day on (YYYY-MM-DD); default: the last 30 days.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum OpenapiAction {
    /// Write every service's spec (and each client crate's copy) from the code.
    Write,
    /// Fail when a checked-in spec differs from the code.
    Check,
    /// List spec changes since a git ref as breaking or compatible; fail on an unannounced break.
    Diff {
        #[arg(long, default_value = "HEAD")]
        base: String,
    },
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Openapi { action: OpenapiAction::Write } => openapi::write(),
        Command::Openapi { action: OpenapiAction::Check } => openapi::check(),
        Command::Openapi { action: OpenapiAction::Diff { base } } => diff::run(&base),
        Command::Fuzz { examples, services } => fuzz::run(examples, &services),
        Command::DeprecationReport { service, operation_id, analytics_url, operator_token, since } => {
            deprecation::run(&service, &operation_id, deprecation::Source { analytics_url, operator_token, since })
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
