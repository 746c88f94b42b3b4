//! `cargo xtask bench --db sqlite|postgres`: measurements, as ratios from one run.
//!
//! Either way the platform runs as ops run it: the three services as separate release binaries,
//! each on its own database, the bare handler over the actions database beside them, and the
//! loader as its own process, pinned to one core with `taskset` where available.
//!
//! - `postgres` (as ops deploy it): a durable throwaway PostgreSQL server (the test code's, with
//!   fsync on), history seeded straight into the databases, and, in the same run, `pgbench`
//!   running a comment's statements (insert the action, bump the entity's counts, insert the
//!   event) on the same tables at the same concurrency: the database's ceiling for the write
//!   path.
//! - `sqlite` (the embedded default): each service on its own SQLite file, the history written
//!   through the API.
//!
//! The report (stdout and `target/bench/report.json`) gives each run's throughput and latency,
//! what a request cost, the ratios to the ceilings, and each service's resident memory.
//!
//! Rate limits are off in both modes: the loader sends far more per token than any client.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::postgres::{Durability, ThrowawayPostgres, free_port};
use crate::{cargo, workspace_root};

/// What a bench run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The SDK's request mix, each operation alone, propagation, and their ceilings.
    Sdk,
    /// Analytics' ingestion of custom events in batches of 500, against PostgreSQL's `COPY` of
    /// the same rows (PostgreSQL only).
    Ingest,
}

/// Where the database of a bench run lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchDb {
    Sqlite,
    Postgres,
}

/// The services the SDK scenario runs (analytics has its own scenario).
const SERVICES: [&str; 3] = ["users", "actions", "notifications"];
const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789";
const SERVICE_SECRET: &str = "bench-service-secret-0123456789";

pub fn run(db: Option<BenchDb>, scenario: Scenario, args: &[String]) -> anyhow::Result<()> {
    match (db, scenario) {
        (None | Some(BenchDb::Sqlite), Scenario::Sdk) => sdk(BenchDb::Sqlite, args),
        (Some(BenchDb::Postgres), Scenario::Sdk) => sdk(BenchDb::Postgres, args),
        (None | Some(BenchDb::Postgres), Scenario::Ingest) => ingest(args),
        (Some(BenchDb::Sqlite), Scenario::Ingest) => {
            bail!("the ingest scenario measures against PostgreSQL's COPY: leave out --db, or --db postgres")
        }
    }
}

/// One service process; killed when dropped.
struct Running {
    name: &'static str,
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The process's peak resident set in MiB (VmHWM), where /proc provides it.
    fn peak_rss_mib(&self) -> Option<u64> {
        self.status_mib("VmHWM:")
    }

    /// The process's resident set now, in MiB (VmRSS).
    fn rss_mib(&self) -> Option<u64> {
        self.status_mib("VmRSS:")
    }

    /// A memory figure of `/proc/<pid>/status` (given there in KiB), in MiB.
    fn status_mib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib / 1024)
    }
}

/// Where the services of a run keep their data: each its own database on one PostgreSQL server,
/// or each its own SQLite file.
enum Databases<'a> {
    Postgres(&'a ThrowawayPostgres),
    Sqlite(&'a Path),
}

impl Databases<'_> {
    /// The database URL of the service (or `postgres`, the server's own) called `name`.
    fn url(&self, name: &str) -> String {
        match self {
            Self::Postgres(server) => server.socket_url(name),
            Self::Sqlite(dir) => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
        }
    }
}

/// The SDK scenario: the services, the bare handler and the loader as separate processes.
fn sdk(db: BenchDb, args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    println!("== building the services and the loader (release)");
    let mut build = cargo();
    build.args(["build", "--quiet", "--release"]);
    for package in ["chorus-users", "chorus-actions", "chorus-notifications", "chorus-bench"] {
        build.args(["--package", package]);
    }
    anyhow::ensure!(build.status()?.success(), "the release build failed");
    let release = root.join("target/release");

    let dir = tempfile::Builder::new().prefix("chorus-bench-").tempdir()?;
    let server = match db {
        BenchDb::Postgres => {
            println!("== starting a durable throwaway PostgreSQL");
            let server = ThrowawayPostgres::start_with(Durability::Durable)?;
            for service in SERVICES {
                server.psql("postgres", &format!("CREATE DATABASE {service}"))?;
            }
            Some(server)
        }
        BenchDb::Sqlite => None,
    };
    let databases = match &server {
        Some(server) => Databases::Postgres(server),
        None => Databases::Sqlite(dir.path()),
    };
    let users_config = dir.path().join("users.toml");
    let digest = secret_digest(SERVICE_SECRET);
    let accounts: String = ["actions", "notifications"]
        .iter()
        .map(|name| {
            format!(
                "[[service_accounts]]\nname = \"{name}\"\nsecret_sha256 = \"{digest}\"\nscopes = [\"events:read\"]\n"
            )
        })
        .collect();
    std::fs::write(&users_config, accounts)?;

    // Every process logs into target/bench, which a fresh checkout does not have yet.
    std::fs::create_dir_all(root.join("target/bench"))?;
    // Notifications pushes to a loopback FCM fake, served (release-built) by the loader's binary.
    let (fcm, fcm_url, fcm_credentials) = spawn_fcm_fake(&release, dir.path())?;

    println!("== starting the services (logs: target/bench/<service>.log)");
    let users = spawn(&release, "users", &databases, &[], Some(&users_config))?;
    let actions = spawn(&release, "actions", &databases, &[("USERS__URL", users.url.clone())], None)?;
    let notifications = spawn(
        &release,
        "notifications",
        &databases,
        &[
            ("USERS__URL", users.url.clone()),
            ("ACTIONS__URL", actions.url.clone()),
            ("WEBHOOKS__SIGNING_KEY", "bench-webhook-signing-key-0123456789abcdef".into()),
            ("PUSH__FCM__BASE_URL", fcm_url.clone()),
            ("PUSH__FCM__CREDENTIALS_FILE", fcm_credentials),
        ],
        None,
    )?;
    let running = [&users, &actions, &notifications];
    for service in running {
        wait_ready(service)?;
    }
    // After actions has migrated its database, which the bare handler reads too.
    let baseline = spawn_baseline(&release, &databases.url("actions"))?;
    wait_ready(&baseline)?;
    let idle_rss: Vec<Value> =
        running.iter().map(|service| json!({ "service": service.name, "rss_mib": service.rss_mib() })).collect();

    println!("== load");
    // Counted from the start, so the report can give each request's statements.
    let counting_statements = server
        .as_ref()
        .is_some_and(|server| server.psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements").is_ok());
    let figures_path = dir.path().join("loader.json");
    let mut loader = loader_command(&release.join("chorus-bench"));
    loader
        .args(["--users-url", &users.url, "--actions-url", &actions.url, "--operator-token", OPERATOR_TOKEN])
        .args(["--notifications-url", &notifications.url, "--baseline-url", &baseline.url])
        .args(["--fcm-fake-url", &fcm_url])
        .arg("--chart")
        .arg(root.join("target/bench/latency.svg"))
        .arg("--out")
        .arg(&figures_path)
        .args(
            running
                .iter()
                .chain([&&baseline])
                .map(|service| format!("--cpu-of={}={}", service.name, service.child.id())),
        );
    if let Some(server) = &server {
        loader
            .arg("--seed-databases")
            .args(SERVICES.map(|service| server.socket_url(service)))
            // As ops run it: the seed's ten thousand entities, unless told otherwise.
            .args(if arg_value(args, "--entities").is_none() { vec!["--entities", "10000"] } else { vec![] })
            .args(server.postmaster_pid().map(|pid| format!("--cpu-of=postgres={pid}+")))
            .args(counting_statements.then(|| format!("--statements-url={}", server.socket_url("postgres"))));
    }
    loader.args(args);
    anyhow::ensure!(loader.status()?.success(), "the loader failed");
    let loader_figures: Value = serde_json::from_slice(&std::fs::read(&figures_path)?)?;

    let peak_rss: Vec<Value> = running
        .iter()
        .map(|service| json!({ "service": service.name, "peak_rss_mib": service.peak_rss_mib() }))
        .collect();
    let scans = server.as_ref().map(sequential_scans).unwrap_or_default();
    let sizes = server.as_ref().map(database_sizes).unwrap_or_default();
    // The services stop first, so nothing follows pgbench's writes, and pgbench runs after the
    // loader, so it writes to the same tables, as full as Chorus found them.
    drop((users, actions, notifications, baseline, fcm));
    let mut report = json!({
        "database": match db { BenchDb::Postgres => "postgres", BenchDb::Sqlite => "sqlite" },
        "machine": machine(),
        "loader": loader_figures,
        "idle_rss": &idle_rss,
        "peak_rss": &peak_rss,
    });
    println!();
    if let Some(server) = &server {
        println!("== the write path's ceiling: pgbench on a comment's statements, same tables");
        // The loader's own figures say how long and how wide its runs were.
        let workers = report["loader"]["workers"].as_u64().unwrap_or(32);
        let seconds = report["loader"]["seconds"].as_u64().unwrap_or(7);
        let entities = arg_value(args, "--entities").unwrap_or(10_000);
        let authors = report["loader"]["users"].as_u64().unwrap_or(200);
        let run = Pgbench { clients: workers, seconds, entities, authors };
        let pgbench_tps = pgbench(server, &release.join("chorus-bench"), dir.path(), run, CommentScript::Statements)?;
        println!("pgbench: {pgbench_tps:.0} comment transactions/s at {workers} clients, one statement at a time");
        let as_sent_tps = pgbench(server, &release.join("chorus-bench"), dir.path(), run, CommentScript::AsSent)?;
        println!("pgbench: {as_sent_tps:.0} comment transactions/s at {workers} clients, as the service sends them");
        let statements = busiest_statements(server);
        let comment = report["loader"]["runs"]
            .as_array()
            .and_then(|runs| runs.iter().find(|run| run["name"] == "comment"))
            .and_then(|run| run["throughput"].as_f64())
            .unwrap_or(0.0);
        println!(
            "comments / pgbench on the same statements: {:.2} (on the statements as sent: {:.2})",
            comment / pgbench_tps.max(f64::EPSILON),
            comment / as_sent_tps.max(f64::EPSILON)
        );
        print_statements(&statements);
        print_sequential_scans(&scans);
        report["pgbench_comment_tps"] = json!(pgbench_tps);
        report["comment_to_pgbench"] = json!(comment / pgbench_tps.max(f64::EPSILON));
        report["pgbench_comment_as_sent_tps"] = json!(as_sent_tps);
        report["comment_to_pgbench_as_sent"] = json!(comment / as_sent_tps.max(f64::EPSILON));
        report["busiest_statements"] = json!(statements);
        report["sequential_scans"] = json!(scans);
        report["database_mib"] = json!(sizes);
        let sizes: Vec<String> = sizes.iter().map(|(name, mib)| format!("{name} {mib} MiB")).collect();
        println!("databases after the runs: {}", sizes.join(", "));
    }
    for (idle, peak) in idle_rss.iter().zip(&peak_rss) {
        println!("{}: idle {} MiB, peak {} MiB", idle["service"], idle["rss_mib"], peak["peak_rss_mib"]);
    }
    let out = root.join("target/bench");
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    println!("== report: target/bench/report.json, chart: target/bench/latency.svg");
    Ok(())
}

/// The ingest scenario: users, actions and analytics as release binaries on a durable
/// PostgreSQL, the loader posting an app's 500-event batches, then PostgreSQL's own `COPY` of
/// the rows analytics kept, into a table of the same shape: the database's bulk-load ceiling.
fn ingest(args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    println!("== building the services and the loader (release)");
    let mut build = cargo();
    build.args(["build", "--quiet", "--release"]);
    for package in ["chorus-users", "chorus-actions", "chorus-analytics", "chorus-bench"] {
        build.args(["--package", package]);
    }
    anyhow::ensure!(build.status()?.success(), "the release build failed");
    let release = root.join("target/release");

    println!("== starting a durable throwaway PostgreSQL");
    let server = ThrowawayPostgres::start_with(Durability::Durable)?;
    for service in ["users", "actions", "analytics"] {
        server.psql("postgres", &format!("CREATE DATABASE {service}"))?;
    }
    let dir = tempfile::Builder::new().prefix("chorus-bench-").tempdir()?;
    let users_config = dir.path().join("users.toml");
    let digest = secret_digest(SERVICE_SECRET);
    let accounts = format!(
        "[[service_accounts]]\nname = \"actions\"\nsecret_sha256 = \"{digest}\"\nscopes = [\"events:read\"]\n\
         [[service_accounts]]\nname = \"analytics\"\nsecret_sha256 = \"{digest}\"\nscopes = [\"events:read\", \"usage:read\"]\n"
    );
    std::fs::write(&users_config, accounts)?;

    println!("== starting users, actions and analytics (logs: target/bench/<service>.log)");
    std::fs::create_dir_all(root.join("target/bench"))?;
    let databases = Databases::Postgres(&server);
    let users = spawn(&release, "users", &databases, &[], Some(&users_config))?;
    let actions = spawn(&release, "actions", &databases, &[("USERS__URL", users.url.clone())], None)?;
    let analytics = spawn(
        &release,
        "analytics",
        &databases,
        &[
            ("USERS__URL", users.url.clone()),
            ("ACTIONS__URL", actions.url.clone()),
            // No alert broadcasts run here; a closed port stands in for notifications.
            ("NOTIFICATIONS__URL", "http://127.0.0.1:9".into()),
            ("WEBHOOKS__SIGNING_KEY", "bench-webhook-signing-key-0123456789abcdef".into()),
        ],
        None,
    )?;
    for service in [&users, &actions, &analytics] {
        wait_ready(service)?;
    }
    let idle_rss = analytics.rss_mib();

    println!("== load: 500-event batches");
    let figures_path = dir.path().join("ingest.json");
    let mut loader = loader_command(&release.join("chorus-bench"));
    loader
        .args(["--analytics-url", &analytics.url, "--users-url", &users.url, "--operator-token", OPERATOR_TOKEN])
        .args(if arg_value(args, "--workers").is_none() { vec!["--workers", "8"] } else { vec![] })
        .arg("--out")
        .arg(&figures_path)
        .args(args);
    anyhow::ensure!(loader.status()?.success(), "the loader failed");
    let figures: Value = serde_json::from_slice(&std::fs::read(&figures_path)?)?;
    let peak_rss = analytics.peak_rss_mib();
    let statements = busiest_statements(&server);
    drop((analytics, actions, users));

    println!("== the database's ceiling: COPY of the same rows into a table of the same shape");
    let rows = dir.path().join("rows.csv");
    let columns = "app_id, insert_id, metric, user_id, entity_key, properties, count, occurred_at";
    server.psql("analytics", &format!("\\copy (SELECT {columns} FROM raw_events) TO '{}' CSV", rows.display()))?;
    server.psql(
        "analytics",
        "CREATE TABLE copy_ceiling (LIKE raw_events); \
         CREATE INDEX ON copy_ceiling (app_id, occurred_at); \
         CREATE INDEX ON copy_ceiling (user_id) WHERE user_id IS NOT NULL",
    )?;
    let copied = Instant::now();
    server.psql("analytics", &format!("\\copy copy_ceiling ({columns}) FROM '{}' CSV", rows.display()))?;
    let copy_seconds = copied.elapsed().as_secs_f64();
    let copy_rows: f64 = server.psql("analytics", "SELECT count(*) FROM copy_ceiling")?.trim().parse()?;
    let copy_rate = copy_rows / copy_seconds.max(f64::EPSILON);
    let ingest_rate = figures["events_per_second"].as_f64().unwrap_or(0.0);
    let report = json!({
        "database": "postgres",
        "scenario": "ingest",
        "machine": machine(),
        "loader": figures,
        "copy_rows": copy_rows,
        "copy_rows_per_second": copy_rate,
        "ingest_to_copy": ingest_rate / copy_rate.max(f64::EPSILON),
        "analytics_idle_rss_mib": idle_rss,
        "analytics_peak_rss_mib": peak_rss,
        "busiest_statements": statements,
    });
    println!();
    println!("COPY of the same {copy_rows:.0} rows: {copy_rate:.0} rows/s");
    println!("ingest / COPY: {:.2}", ingest_rate / copy_rate.max(f64::EPSILON));
    println!("analytics: idle {idle_rss:?} MiB, peak {peak_rss:?} MiB");
    print_statements(&statements);
    std::fs::write(root.join("target/bench/ingest.json"), serde_json::to_vec_pretty(&report)?)?;
    println!("== report: target/bench/ingest.json");
    Ok(())
}

fn print_statements(statements: &[Value]) {
    if statements.is_empty() {
        return;
    }
    // Those that read the most pages, unless already among the busiest shown.
    let busiest = statements.iter().take(12);
    let mut by_pages: Vec<&Value> = statements.iter().skip(12).collect();
    by_pages.sort_by_key(|statement| statement["by_pages"].as_i64().unwrap_or(i64::MAX));
    println!("the database's busiest statements (all runs; more in the report), then those that read the most pages:");
    for statement in busiest.chain(by_pages.into_iter().take(5)) {
        println!(
            "  {:>9} ms {:>8} calls {:>8} plans {:>8} pages/call {:>5}% in buffers  {:<13} {}",
            statement["total_ms"],
            statement["calls"],
            statement["plans"],
            statement["pages_per_call"],
            statement["hit_percent"],
            statement["database"].as_str().unwrap_or_default(),
            statement["statement"].as_str().unwrap_or_default().chars().take(110).collect::<String>()
        );
    }
}

/// Where the database server's time went during the whole bench, by statement (the busiest
/// first, with pgbench's own among them), when pg_stat_statements is loaded; empty otherwise.
fn busiest_statements(server: &ThrowawayPostgres) -> Vec<Value> {
    // The 25 that took longest, and the 10 that read the most pages (a scan too wide to take
    // long on a small table still costs every call).
    let query = "SELECT json_agg(s) FROM (SELECT * FROM (SELECT d.datname AS database, calls, \
                 round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, \
                 round((shared_blks_hit + shared_blks_read)::numeric / greatest(calls, 1), 1) AS pages_per_call, \
                 shared_blks_hit + shared_blks_read AS pages, plans, round(total_plan_time::numeric, 1) AS plan_ms, \
                 round(100.0 * shared_blks_hit / greatest(shared_blks_hit + shared_blks_read, 1), 1) AS hit_percent, \
                 left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS statement, \
                 rank() OVER (ORDER BY total_exec_time DESC) AS by_time, \
                 rank() OVER (ORDER BY shared_blks_hit + shared_blks_read DESC) AS by_pages \
                 FROM pg_stat_statements p JOIN pg_database d ON d.oid = p.dbid) ranked \
                 WHERE by_time <= 25 OR by_pages <= 10 ORDER BY by_time) s";
    let read = server
        .psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .and_then(|_| server.psql("postgres", query))
        .and_then(|text| Ok(serde_json::from_str::<Vec<Value>>(text.trim())?));
    read.unwrap_or_else(|error| {
        println!("(no statement statistics: {error})");
        Vec::new()
    })
}

/// Each service database's size in MiB, after the runs.
fn database_sizes(server: &ThrowawayPostgres) -> Vec<(&'static str, u64)> {
    SERVICES
        .iter()
        .filter_map(|database| {
            let text = server.psql(database, "SELECT pg_database_size(current_database()) / 1048576").ok()?;
            Some((*database, text.trim().parse().ok()?))
        })
        .collect()
}

/// The tables the services read whole (by rows read that way, the most first), in every
/// service's database: a scan on a hot path is a missing index or a plan gone wrong.
fn sequential_scans(server: &ThrowawayPostgres) -> Vec<Value> {
    let query = "SELECT coalesce(json_agg(s), '[]') FROM (SELECT current_database() AS database, relname AS table, \
                 seq_scan AS scans, seq_tup_read AS rows_read, coalesce(idx_scan, 0) AS index_scans \
                 FROM pg_stat_user_tables WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT 5) s";
    SERVICES
        .iter()
        .filter_map(|database| server.psql(database, query).ok())
        .filter_map(|text| serde_json::from_str::<Vec<Value>>(text.trim()).ok())
        .flatten()
        .collect()
}

fn print_sequential_scans(scans: &[Value]) {
    if scans.is_empty() {
        return;
    }
    println!("sequential scans (the seed's own included):");
    for scan in scans {
        println!(
            "  {:<13} {:<24} {:>8} scans {:>12} rows read {:>10} index scans",
            scan["database"].as_str().unwrap_or_default(),
            scan["table"].as_str().unwrap_or_default(),
            scan["scans"],
            scan["rows_read"],
            scan["index_scans"]
        );
    }
}

/// Starts the bare handler (the loader's binary in `--serve-baseline` mode) over the actions
/// service's database, outside the loader's core.
/// It has as many HTTP workers as the service it stands in for.
fn spawn_baseline(release: &Path, database_url: &str) -> anyhow::Result<Running> {
    let port = free_port()?;
    let log = std::fs::File::create(workspace_root().join("target/bench/baseline.log"))?;
    let child = Command::new(release.join("chorus-bench"))
        .args(["--serve-baseline", database_url, "--port", &port.to_string()])
        .args(["--http-workers", &http_workers().to_string()])
        .stdout(log)
        .spawn()
        .context("starting the bare handler")?;
    Ok(Running { name: "baseline", child, url: format!("http://127.0.0.1:{port}") })
}

/// Starts the loopback FCM fake (`chorus-bench --serve-fcm-fake`); answers it with its URL and
/// its service account's key file.
fn spawn_fcm_fake(release: &Path, dir: &Path) -> anyhow::Result<(Running, String, String)> {
    let found = dir.join("fcm-fake.json");
    let log = std::fs::File::create(workspace_root().join("target/bench/fcm-fake.log"))?;
    let child = Command::new(release.join("chorus-bench"))
        .arg("--serve-fcm-fake")
        .arg(&found)
        .stdout(log)
        .spawn()
        .context("starting the FCM fake")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !found.exists() {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the FCM fake did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let fake: Value = serde_json::from_slice(&std::fs::read(&found)?)?;
    let text = |field: &str| fake[field].as_str().unwrap_or_default().to_owned();
    let (url, credentials) = (text("url"), text("credentials_file"));
    Ok((Running { name: "fcm-fake", child, url: url.clone() }, url, credentials))
}

/// HTTP workers per service: the machine's cores shared among the services, at least one each,
/// as a deployment sizes a service's workers to the CPU it is given. A worker per core each
/// would put six workers on two cores beside the database and the loader, and each request
/// would pay for the extra wakeups (docs/benchmarks.md, "Workers").
fn http_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / SERVICES.len()).max(1)
}

/// Starts one service's release binary on a free port, on its own database.
fn spawn(
    release: &Path,
    name: &'static str,
    databases: &Databases<'_>,
    settings: &[(&str, String)],
    config: Option<&PathBuf>,
) -> anyhow::Result<Running> {
    let port = free_port()?;
    let prefix = format!("CHORUS_{}", name.to_uppercase());
    let mut command = Command::new(release.join(format!("chorus-{name}")));
    command.arg("serve");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let common = [
        ("HTTP__HOST", "127.0.0.1".to_owned()),
        ("HTTP__PORT", port.to_string()),
        ("DATABASE__URL", databases.url(name)),
        ("HTTP__WORKERS", http_workers().to_string()),
        ("DATABASE__POOL_SIZE", "16".into()),
        ("AUTH__OPERATOR_TOKEN", OPERATOR_TOKEN.into()),
        ("RATE_LIMITS__ENABLED", "false".into()),
        ("TELEMETRY__LOG_LEVEL", "warn".into()),
        ("USERS__SERVICE_SECRET", SERVICE_SECRET.into()),
    ];
    for (key, value) in common.iter().chain(settings) {
        // Users has no [users] section: its link settings are for the other services only.
        if name == "users" && key.starts_with("USERS__") {
            continue;
        }
        command.env(format!("{prefix}__{key}"), value);
    }
    // Each service's log (warnings and up) is kept for a look after the run.
    let log = std::fs::File::create(workspace_root().join(format!("target/bench/{name}.log")))?;
    command.stdout(log);
    let child = command.spawn().with_context(|| format!("starting chorus-{name}"))?;
    Ok(Running { name, child, url: format!("http://127.0.0.1:{port}") })
}

fn wait_ready(service: &Running) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let address = service.url.trim_start_matches("http://").to_owned();
    while Instant::now() < deadline {
        if is_ready(&address) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("chorus-{} did not become ready", service.name)
}

/// True when `GET /health/ready` at `address` answers 200 (plain HTTP/1.0, no client needed).
fn is_ready(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /health/ready HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

/// The loader, pinned to the last core when `taskset` is there, so it competes with the
/// services for one core only.
fn loader_command(binary: &Path) -> Command {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let has_taskset = Command::new("taskset").arg("-V").output().is_ok_and(|out| out.status.success());
    if has_taskset && cores > 1 {
        let mut command = Command::new("taskset");
        command.args(["-c", &(cores - 1).to_string()]).arg(binary);
        command
    } else {
        Command::new(binary)
    }
}

/// How wide and long pgbench runs: as the loader's comment run did.
#[derive(Clone, Copy)]
struct Pgbench {
    clients: u64,
    seconds: u64,
    entities: u64,
    /// Distinct authors, as many as the loader has sessions.
    authors: u64,
}

/// The two forms pgbench runs a comment's transaction in.
#[derive(Clone, Copy)]
enum CommentScript {
    /// As the issue that set the target measured it: insert the action, bump the entity's counts,
    /// bump the author's tally, insert the event, each its own statement in pgbench's simple
    /// protocol. The target's ratio is taken against this.
    Statements,
    /// As the actions service sends them: the entity's lookup by key with the author's standing,
    /// the action, the counts, the tally and the event (the service's own payload, filled in
    /// with the entity's id and counts) in one prepared statement that commits by itself: the
    /// service's statement text, from the loader (`chorus-bench --pgbench-comment`). The
    /// database's ceiling for Chorus's own SQL.
    AsSent,
}

/// A comment's transaction run by pgbench (see [`CommentScript`]) at the loader's concurrency on
/// the actions service's own tables, over the seeded entities, by as many authors as the loader
/// has sessions: transactions per second.
fn pgbench(
    server: &ThrowawayPostgres,
    loader: &Path,
    dir: &Path,
    run: Pgbench,
    form: CommentScript,
) -> anyhow::Result<f64> {
    let Pgbench { clients, seconds, entities, authors } = run;
    let head = format!("\\set e random(0, {last})\n\\set u random(1, {authors})\n", last = entities.saturating_sub(1));
    let (body, protocol) = match form {
        CommentScript::Statements => (
            "BEGIN;\n\
             INSERT INTO actions (id, app_id, entity_id, user_id, kind, body, created_at) \
               VALUES (gen_random_uuid()::text, 'pgbench', 'seed-entity-' || :e, 'pgbench-user-' || :u, 'comment', \
               'a comment from the bench', now());\n\
             UPDATE entities SET comments = comments + 1, total = total + 1, last_activity_at = now() \
               WHERE id = 'seed-entity-' || :e;\n\
             INSERT INTO action_tallies (entity_id, user_id, likes, comments, shares) \
               VALUES ('seed-entity-' || :e, 'pgbench-user-' || :u, 0, 1, 0) ON CONFLICT (entity_id, user_id) \
               DO UPDATE SET comments = action_tallies.comments + 1;\n\
             INSERT INTO chorus_events (id, app_id, event_type, subject, data, occurred_at) \
               VALUES ((pg_current_xact_id()::text::bigint << 20), 'pgbench', 'pgbench.comment', 'seed-entity-' || :e, \
               '{\"action\": {}}', now());\n\
             COMMIT;\n"
                .to_owned(),
            "simple",
        ),
        CommentScript::AsSent => {
            // The entities' app, which the service's lookup names; the statement and its payload
            // come from the actions service's own code, through the loader.
            let app = server.psql("actions", "SELECT app_id FROM entities WHERE id = 'seed-entity-0'")?;
            let output = Command::new(loader)
                .args(["--pgbench-comment", app.trim()])
                .output()
                .context("asking the loader for the service's comment statement")?;
            anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            (String::from_utf8(output.stdout)?, "prepared")
        }
    };
    let script = dir.join("comment.sql");
    std::fs::write(&script, format!("{head}{body}"))?;
    // The comment run is the first after the seed's checkpoint; pgbench starts right after one
    // too, so both pay alike for the full-page writes that follow a checkpoint.
    server.psql("postgres", "CHECKPOINT")?;
    let output = Command::new(server.tool("pgbench"))
        .args(["-n", "-M", protocol, "-c", &clients.to_string(), "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(server.socket_url("actions"))
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
    text.lines()
        .find_map(|line| line.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .context("pgbench printed no tps")
}

/// A numeric `--name value` from the loader's arguments.
fn arg_value(args: &[String], name: &str) -> Option<u64> {
    args.iter().position(|arg| arg == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

/// Cores and CPU model, where /proc says.
fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines().find(|l| l.starts_with("model name"))?.split(':').nth(1).map(|m| m.trim().to_owned())
    });
    json!({ "cores": std::thread::available_parallelism().map_or(1, usize::from), "cpu": cpu })
}

/// Hex SHA-256 of a service secret: what users' configuration stores (`secret_sha256`).
fn secret_digest(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}
