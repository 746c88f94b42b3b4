//! `cargo run --release`: every Chorus service on this machine, with embedded SQLite.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "chorus", about = "Runs every Chorus service on embedded SQLite")]
struct Cli {
    /// Where the databases and credentials.json live.
    #[arg(long, env = "CHORUS_DATA_DIR", default_value = ".chorus")]
    data_dir: PathBuf,
    /// The address services listen on.
    #[arg(long, env = "CHORUS_HOST", default_value = "127.0.0.1")]
    host: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    chorus_kit::telemetry::init(&chorus_kit::config::TelemetrySettings {
        log_format: chorus_kit::config::LogFormat::Pretty,
        log_level: "info".into(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chorus: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut options = chorus::Options::new(&cli.data_dir);
    options.host = cli.host;
    let platform = chorus::Platform::start(options).await?;
    println!();
    println!("Chorus is running. Data and credentials: {}", cli.data_dir.join("credentials.json").display());
    for (name, url) in platform.services() {
        println!("  {name:<14} {url}   docs: {url}/docs");
    }
    println!("  demo app id    {}", platform.credentials.demo_app.app_id);
    println!("  demo api_key   {}", platform.credentials.demo_app.api_key);
    println!("Press Ctrl-C to stop.");
    chorus_kit::shutdown::signal().await;
    println!("Stopping…");
    platform.stop().await;
    Ok(())
}
