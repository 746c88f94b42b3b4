//! `cargo xtask bench`: the SDK's request mix against the whole platform, at saturation and at a
//! fixed rate, and the same operations against a bare baseline, all in one run on this machine.
//! Results are ratios measured side by side, since absolute numbers vary from run to run.
//!
//! This binary is the loader, against services running as their own processes (`cargo xtask
//! bench` starts them and passes their URLs); it writes its figures to `--out`. The same binary
//! serves the bare handler (`--serve-baseline`) and a loopback FCM fake (`--serve-fcm-fake`) as
//! processes of their own, and prints pgbench's form of the service's comment
//! (`--pgbench-comment`).

mod baseline;
mod chart;
mod cost;
mod ingest;
mod load;
mod mix;
mod pgbench;
mod remote;
mod seed;
mod stats;

use clap::Parser;

use mix::Population;

#[derive(Parser)]
#[command(name = "chorus-bench")]
struct Cli {
    /// Seconds each measurement runs (after a second of warm-up).
    #[arg(long, default_value_t = 7)]
    seconds: u64,
    /// Concurrent clients at saturation.
    #[arg(long, default_value_t = 32)]
    workers: usize,
    /// Concurrent clients of the view run: views come from every open screen at once, and the
    /// service groups them, so their figure is taken with many clients.
    #[arg(long, default_value_t = 256)]
    view_workers: usize,
    #[arg(long, default_value_t = 100)]
    users: usize,
    #[arg(long, default_value_t = 50)]
    entities: usize,
    /// The fixed rate, as a fraction of the mix's saturation throughput.
    #[arg(long, default_value_t = 0.5)]
    rate_fraction: f64,
    /// Load services already running here, instead of starting the platform in-process.
    #[arg(long, requires_all = ["operator_token", "out"])]
    users_url: Option<String>,
    #[arg(long)]
    actions_url: Option<String>,
    /// With it, the propagation run: a comment's 2xx to the subscriber's inbox frame.
    #[arg(long)]
    notifications_url: Option<String>,
    /// A loopback FCM fake notifications pushes to: the seeded users get an FCM device each
    /// (the hot entity's subscribers aside), and the broadcast run times its pushes too.
    #[arg(long)]
    fcm_fake_url: Option<String>,
    #[arg(long)]
    operator_token: Option<String>,
    /// Comments the hot entity gets before the runs.
    #[arg(long, default_value_t = 50_000)]
    hot_actions: usize,
    /// Write history into the services' databases first (the users, actions and notifications
    /// database URLs, all three), instead of creating entities and the hot entity's comments
    /// through the API.
    #[arg(long, num_args = 3, value_names = ["USERS_DB", "ACTIONS_DB", "NOTIFICATIONS_DB"])]
    seed_databases: Vec<String>,
    /// People the history holds (each with a device).
    #[arg(long, default_value_t = 100_000)]
    seed_users: u64,
    /// Actions the history spreads over the entities.
    #[arg(long, default_value_t = 1_000_000)]
    seed_actions: u64,
    /// Users subscribed to the hot entity's new comments in the history.
    #[arg(long, default_value_t = 1_000)]
    hot_subscribers: u64,
    /// Where the loader writes its figures as JSON.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Only the runs whose names contain this (repeatable; all by default).
    #[arg(long)]
    only: Vec<String>,
    /// The bare handler to compare action-bar reads with (see `--serve-baseline`).
    #[arg(long)]
    baseline_url: Option<String>,
    /// Where to draw the SVG chart of the mix's latency against offered rate.
    #[arg(long)]
    chart: Option<std::path::PathBuf>,
    /// Serve only the bare handler, over this database (the actions schema), until killed.
    #[arg(long, requires = "port")]
    serve_baseline: Option<String>,
    /// Serve a loopback FCM fake until killed, and write its URL and its service account's key
    /// file, as JSON (`{"url", "credentials_file"}`), to this path once it listens.
    #[arg(long)]
    serve_fcm_fake: Option<std::path::PathBuf>,
    /// The port `--serve-baseline` listens on (127.0.0.1).
    #[arg(long)]
    port: Option<u16>,
    /// HTTP workers of `--serve-baseline`: as many as the actions service it stands in for has.
    #[arg(long, default_value_t = 1)]
    http_workers: usize,
    /// A process whose CPU per request the report gives, as `name=pid`, or `name=pid+` to count
    /// its children too (a database server's backends); repeatable. The loader counts itself.
    #[arg(long)]
    cpu_of: Vec<cost::Watched>,
    /// A database with `pg_stat_statements` installed: the report then gives the statements and
    /// commits each request took.
    #[arg(long)]
    statements_url: Option<String>,
    /// Print pgbench's command for a comment by the seeded users on the seeded entities of this
    /// app, as the actions service sends it, and exit (`cargo xtask bench --db postgres`).
    #[arg(long, value_name = "APP_ID")]
    pgbench_comment: Option<String>,
    /// Only the ingest run, against the analytics service here (with `--users-url`,
    /// `--operator-token` and `--out`): an app's batches of custom events.
    #[arg(long)]
    analytics_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(app_id) = &cli.pgbench_comment {
        println!("{}", pgbench::comment_as_sent(app_id));
        return Ok(());
    }
    if let Some(out) = cli.serve_fcm_fake.clone() {
        let fcm = chorus_push_fakes::FcmFake::start().await;
        let found = serde_json::json!({ "url": fcm.url, "credentials_file": fcm.credentials_file });
        // Whole or not at all: the reader polls for the file.
        let partial = out.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(&found)?)?;
        std::fs::rename(&partial, &out)?;
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }
    if let (Some(database_url), Some(port)) = (cli.serve_baseline.clone(), cli.port) {
        let (_url, server) = baseline::start(database_url, port, cli.http_workers).await?;
        tokio::signal::ctrl_c().await?;
        server.stop(true).await;
        return Ok(());
    }
    if let (Some(analytics_url), Some(users_url), Some(operator_token), Some(out)) =
        (cli.analytics_url.clone(), cli.users_url.clone(), cli.operator_token.clone(), cli.out.clone())
    {
        let users = chorus_upstream::peers::UsersPeer::new(users_url, operator_token);
        let app = users.app("Ingest bench").await;
        let ingest = ingest::Ingest { analytics_url, app_token: app.token, workers: cli.workers, seconds: cli.seconds };
        let figures = ingest.run().await?;
        std::fs::write(out, serde_json::to_vec_pretty(&figures)?)?;
        return Ok(());
    }
    if let (Some(users_url), Some(actions_url), Some(operator_token), Some(out)) =
        (cli.users_url.clone(), cli.actions_url.clone(), cli.operator_token.clone(), cli.out.clone())
    {
        let remote = remote::Remote {
            users_url,
            actions_url,
            notifications_url: cli.notifications_url.clone(),
            fcm_fake_url: cli.fcm_fake_url.clone(),
            operator_token,
            seconds: cli.seconds,
            workers: cli.workers,
            view_workers: cli.view_workers,
            population: Population { users: cli.users, entities: cli.entities },
            hot_actions: cli.hot_actions,
            rate_fraction: cli.rate_fraction,
            only: cli.only.clone(),
            baseline_url: cli.baseline_url.clone(),
            chart: cli.chart.clone(),
            cost: cost::CostMeter::new(cli.cpu_of.clone(), cli.statements_url.as_deref())?,
            seed: match cli.seed_databases.as_slice() {
                [users_db, actions_db, notifications_db] => Some(seed::Seed {
                    users_db: users_db.clone(),
                    actions_db: actions_db.clone(),
                    notifications_db: notifications_db.clone(),
                    users: cli.seed_users,
                    entities: cli.entities as u64,
                    actions: cli.seed_actions,
                    hot_key: remote::HOT_KEY.to_owned(),
                    hot_actions: cli.hot_actions as u64,
                    hot_subscribers: cli.hot_subscribers,
                    fcm_devices: cli.fcm_fake_url.is_some(),
                }),
                _ => None,
            },
        };
        let figures = remote.run().await?;
        std::fs::write(out, serde_json::to_vec_pretty(&figures)?)?;
        return Ok(());
    }
    anyhow::bail!(
        "say what to load: --users-url, --actions-url, --operator-token and --out (the SDK scenario), \
         --analytics-url with them (ingest), --serve-baseline or --serve-fcm-fake; `cargo xtask bench` \
         starts the platform and passes them"
    )
}
