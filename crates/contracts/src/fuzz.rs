//! `cargo xtask fuzz`: contract fuzzing. Starts the whole platform on fresh SQLite databases on
//! loopback, gets a user, an app and the operator token for it, and runs schemathesis with every
//! check against each service's spec. Any finding fails the command.
//!
//! schemathesis comes from PyPI, pinned, into a venv under `target/tools/` that xtask makes on
//! first use. Its settings, and every narrow exclusion with its reason, are in
//! `crates/contracts/fuzz/schemathesis.toml`.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::openapi::workspace_root;

/// Where `cargo xtask fuzz` puts the path of the schemathesis it installed (the release the
/// checks and exclusions were written against is pinned there).
const SCHEMATHESIS_VAR: &str = "CHORUS_SCHEMATHESIS";

/// Webhook deliveries go through this proxy, a closed loopback port, so a fuzzed webhook URL is
/// never connected to.
const BLACKHOLE_PROXY: &str = "http://127.0.0.1:9";

/// The platform's settings for a fuzz run, each with its reason.
const FUZZ_SETTINGS: [(&str, &str); 8] = [
    ("CHORUS_NOTIFICATIONS__WEBHOOKS__PROXY_URL", BLACKHOLE_PROXY),
    ("CHORUS_ANALYTICS__WEBHOOKS__PROXY_URL", BLACKHOLE_PROXY),
    // Whether a webhook host resolves to a public address is no property a schema can state
    // (its description does); fuzzed URLs are never connected to (see the proxy above), and the
    // refusal of inside targets has its own tests.
    ("CHORUS_NOTIFICATIONS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ("CHORUS_ANALYTICS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    // One token sends far more here than any client would; the limits and their 429 have their
    // own tests, and the 429 is declared on every operation.
    ("CHORUS_USERS__RATE_LIMITS__ENABLED", "false"),
    ("CHORUS_ACTIONS__RATE_LIMITS__ENABLED", "false"),
    ("CHORUS_NOTIFICATIONS__RATE_LIMITS__ENABLED", "false"),
    ("CHORUS_ANALYTICS__RATE_LIMITS__ENABLED", "false"),
];

pub fn run(examples: u32, services: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let st = schemathesis_command()?;
    let data = tempfile::Builder::new().prefix("chorus-fuzz-").tempdir()?;
    for (name, value) in FUZZ_SETTINGS {
        // SAFETY: set before the runtime (and any other thread) starts.
        unsafe { std::env::set_var(name, value) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut options = chorus::Options::new(data.path());
    options.any_port = true;
    let platform = runtime.block_on(chorus::Platform::start(options))?;
    let outcome = runtime.block_on(tokens(&platform)).and_then(|tokens| {
        let mut failed = Vec::new();
        for (name, url) in platform.services() {
            if !services.is_empty() && !services.iter().any(|s| s == name) {
                continue;
            }
            println!("== fuzzing {name} ({url}/openapi.json)");
            if !schemathesis(&st, &root, &url, &tokens, examples)? {
                failed.push(name);
            }
        }
        match failed.as_slice() {
            [] => Ok(()),
            names => bail!("schemathesis found problems in {}", names.join(", ")),
        }
    });
    runtime.block_on(platform.stop());
    outcome?;
    println!("== every spec passed schemathesis with all checks");
    Ok(())
}

/// The bearer tokens of each kind of caller.
struct Tokens {
    user: String,
    app: String,
    operator: String,
}

async fn tokens(platform: &chorus::Platform) -> anyhow::Result<Tokens> {
    let credentials = &platform.credentials;
    let users = chorus_upstream::peers::UsersPeer::new(&platform.users_url, &credentials.operator_token);
    let demo = &credentials.demo_app;
    let user = users.user(&demo.api_key, "fuzz").await;
    let app = users.app_token(&demo.api_key, &demo.api_secret).await;
    Ok(Tokens { user: user.token, app, operator: credentials.operator_token.clone() })
}

/// Runs schemathesis against one service; false when it found anything.
fn schemathesis(st: &Path, root: &Path, url: &str, tokens: &Tokens, examples: u32) -> anyhow::Result<bool> {
    let status = Command::new(st)
        .current_dir(root)
        .arg("--config-file")
        .arg(root.join("crates/contracts/fuzz/schemathesis.toml"))
        .args(["run", &format!("{url}/openapi.json")])
        .args(["--checks", "all", "--max-examples", &examples.to_string(), "--seed", "20261130"])
        .args(["--workers", "1", "--no-color"])
        .env("CHORUS_FUZZ_USER_TOKEN", &tokens.user)
        .env("CHORUS_FUZZ_APP_TOKEN", &tokens.app)
        .env("CHORUS_FUZZ_OPERATOR_TOKEN", &tokens.operator)
        .status()
        .context("running schemathesis")?;
    Ok(status.success())
}

/// The `st` command `cargo xtask fuzz` installed (pinned, into a venv under `target/tools/`).
fn schemathesis_command() -> anyhow::Result<PathBuf> {
    std::env::var_os(SCHEMATHESIS_VAR).map(PathBuf::from).with_context(|| {
        format!("{SCHEMATHESIS_VAR} is unset: run this as `cargo xtask fuzz`, which installs schemathesis")
    })
}
