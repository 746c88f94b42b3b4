//! `cargo xtask test`: the whole workspace suite on SQLite, then again on a throwaway
//! PostgreSQL, and a summary naming both.

use anyhow::bail;
use std::process::Command;

use crate::postgres::ThrowawayPostgres;

const POSTGRES_URL_VAR: &str = "CHORUS_TEST_POSTGRES_URL";

pub fn run(sqlite_only: bool, cargo_args: &[String]) -> anyhow::Result<()> {
    println!("== tests on SQLite");
    cargo_test(None, cargo_args)?;
    if sqlite_only {
        println!("== passed on SQLite (PostgreSQL skipped by --sqlite-only)");
        return Ok(());
    }
    println!("== starting a throwaway PostgreSQL");
    let postgres = ThrowawayPostgres::start()?;
    println!("== tests on PostgreSQL");
    let outcome = cargo_test(Some(&postgres.url), cargo_args);
    drop(postgres);
    outcome?;
    println!("== all tests passed on SQLite and on PostgreSQL");
    Ok(())
}

fn cargo_test(postgres_url: Option<&str>, cargo_args: &[String]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(crate::workspace_root()).args(["test", "--workspace", "--quiet"]).args(cargo_args);
    match postgres_url {
        Some(url) => command.env(POSTGRES_URL_VAR, url),
        None => command.env_remove(POSTGRES_URL_VAR),
    };
    let status = command.status()?;
    if !status.success() {
        bail!("tests failed on {}", if postgres_url.is_some() { "PostgreSQL" } else { "SQLite" });
    }
    Ok(())
}
