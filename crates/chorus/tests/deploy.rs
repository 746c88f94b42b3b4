//! The shipped compose file is one Docker Compose accepts: `docker compose -f
//! deploy/compose.yaml config` with the secrets it requires set.

use std::path::Path;
use std::process::{Command, Output};

/// The variables every compose command needs (see deploy/README.md).
const SECRETS: [&str; 6] = [
    "CHORUS_OPERATOR_TOKEN",
    "CHORUS_ACTIONS_SERVICE_SECRET",
    "CHORUS_NOTIFICATIONS_SERVICE_SECRET",
    "CHORUS_ANALYTICS_SERVICE_SECRET",
    "CHORUS_WEBHOOK_SIGNING_KEY",
    "CHORUS_ALERT_SIGNING_KEY",
];

fn config(program: &str, args: &[&str], file: &Path) -> Option<Output> {
    let mut command = Command::new(program);
    command.args(args).arg("-f").arg(file).args(["config", "--quiet"]);
    for name in SECRETS {
        command.env(name, "a-secret-for-validation-0123456789abcdef");
    }
    command.output().ok()
}

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).arg("version").output().is_ok_and(|out| out.status.success())
}

#[test]
fn the_compose_file_validates() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let file = deploy.join("compose.yaml");
    let output = if available("docker", &["compose"]) {
        config("docker", &["compose"], &file)
    } else if available("docker-compose", &[]) {
        // Compose v1 predates the top-level `name`; everything else is held to the Compose
        // specification as v2 holds it.
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("compose.yaml");
        let without_name: Vec<&str> = text.lines().filter(|line| !line.starts_with("name:")).collect();
        std::fs::write(&copy, without_name.join("\n")).unwrap();
        // Relative paths (build contexts, mounted config) resolve against the original folder.
        let output = config("docker-compose", &["--project-directory", deploy.to_str().unwrap()], &copy);
        drop(dir);
        output
    } else {
        eprintln!("skipped: neither `docker compose` nor `docker-compose` is installed");
        return;
    };
    let output = output.expect("compose runs");
    assert!(
        output.status.success(),
        "compose refuses deploy/compose.yaml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
