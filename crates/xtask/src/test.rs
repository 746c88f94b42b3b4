//! `cargo xtask test`: the whole workspace suite on SQLite, then again on a throwaway
//! PostgreSQL, and a summary naming both. The deploy test gets Docker Compose v2 from
//! [`crate::tools`].

use anyhow::bail;
use std::path::Path;

use crate::postgres::ThrowawayPostgres;

const POSTGRES_URL_VAR: &str = "CHORUS_TEST_POSTGRES_URL";

pub fn run(sqlite_only: bool, cargo_args: &[String]) -> anyhow::Result<()> {
    let compose = crate::tools::COMPOSE.ensure()?;
    let cargo_test = |postgres_url: Option<&str>| cargo_test(postgres_url, &compose, cargo_args);
    println!("== tests on SQLite");
    cargo_test(None)?;
    if sqlite_only {
        println!("== passed on SQLite (PostgreSQL skipped by --sqlite-only)");
        return Ok(());
    }
    println!("== starting a throwaway PostgreSQL");
    let postgres = ThrowawayPostgres::start()?;
    println!("== tests on PostgreSQL");
    let outcome = cargo_test(Some(&postgres.url));
    drop(postgres);
    outcome?;
    println!("== all tests passed on SQLite and on PostgreSQL");
    Ok(())
}

fn cargo_test(postgres_url: Option<&str>, compose: &Path, cargo_args: &[String]) -> anyhow::Result<()> {
    let mut command = crate::cargo();
    command.args(["test", "--workspace", "--quiet"]).args(cargo_args).env(crate::tools::COMPOSE_VAR, compose);
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
