//! The shipped compose file is one Docker Compose v2 accepts: `docker compose -f
//! deploy/compose.yaml config` with the secrets it requires set. Compose validates a file without
//! an engine; `cargo xtask test` installs it (pinned) and names it in `CHORUS_COMPOSE`.

use std::path::Path;
use std::process::Command;

/// The variables every compose command needs (see deploy/README.md).
const SECRETS: [&str; 6] = [
    "CHORUS_OPERATOR_TOKEN",
    "CHORUS_ACTIONS_SERVICE_SECRET",
    "CHORUS_NOTIFICATIONS_SERVICE_SECRET",
    "CHORUS_ANALYTICS_SERVICE_SECRET",
    "CHORUS_WEBHOOK_SIGNING_KEY",
    "CHORUS_ALERT_SIGNING_KEY",
];

/// Compose v2 as a program and the arguments before its subcommand: the one xtask installed,
/// else a Docker CLI's plugin; None when neither is here.
fn compose() -> Option<(String, Vec<&'static str>)> {
    if let Ok(program) = std::env::var("CHORUS_COMPOSE") {
        return Some((program, vec![]));
    }
    let plugin = Command::new("docker").args(["compose", "version"]).output();
    plugin.is_ok_and(|out| out.status.success()).then(|| ("docker".to_owned(), vec!["compose"]))
}

#[test]
fn the_compose_file_validates() {
    let Some((program, args)) = compose() else {
        eprintln!("skipped: no Docker Compose v2 (`cargo xtask test` installs one)");
        return;
    };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/compose.yaml");
    let mut command = Command::new(&program);
    command.args(&args).arg("-f").arg(&file).args(["config", "--quiet"]);
    for name in SECRETS {
        command.env(name, "a-secret-for-validation-0123456789abcdef");
    }
    let output = command.output().unwrap_or_else(|error| panic!("running {program}: {error}"));
    assert!(
        output.status.success(),
        "compose refuses deploy/compose.yaml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_compose_file_requires_its_secrets() {
    let Some((program, args)) = compose() else { return };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/compose.yaml");
    let mut command = Command::new(&program);
    command.args(&args).arg("-f").arg(&file).args(["config", "--quiet"]);
    for name in SECRETS {
        command.env_remove(name);
    }
    let output = command.output().unwrap_or_else(|error| panic!("running {program}: {error}"));
    assert!(!output.status.success(), "compose started without the secrets deploy/README.md says it needs");
}
