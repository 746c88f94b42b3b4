//! The launcher as a process, as ops and developers run it: acknowledged writes survive a crash
//! (SIGKILL), and SIGTERM stops everything cleanly with exit status 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Launcher {
    child: Child,
    users: String,
    actions: String,
}

/// Starts the `chorus` binary on free ports and waits for it to print its services' URLs.
fn launch(data_dir: &std::path::Path) -> Launcher {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("CHORUS_USERS__HTTP__PORT", "0")
        .env("CHORUS_ACTIONS__HTTP__PORT", "0")
        .env("CHORUS_NOTIFICATIONS__HTTP__PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the launcher starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let (mut users, mut actions) = (None, None);
    while users.is_none() || actions.is_none() {
        let line = lines.next().expect("the launcher prints its services").expect("readable stdout");
        let url = line.split_whitespace().find(|word| word.starts_with("http://")).map(str::to_owned);
        match line.split_whitespace().next() {
            Some("users") => users = url,
            Some("actions") => actions = url,
            _ => {}
        }
    }
    // Keep draining stdout so the launcher never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Launcher { child, users: users.unwrap(), actions: actions.unwrap() }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the launcher did not exit in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_a_crash_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut launcher = launch(dir.path());
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("credentials.json")).unwrap()).unwrap();
    let api_key = credentials["demo_app"]["api_key"].as_str().unwrap();
    let session: Value = http
        .post(format!("{}/v1/sessions", launcher.users))
        .json(&json!({ "api_key": api_key, "device_id": "crash-test" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let liked =
        http.post(format!("{}/v1/entities/post-1/likes", launcher.actions)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(liked.status(), 201);
    let viewed =
        http.post(format!("{}/v1/entities/post-1/views", launcher.actions)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(viewed.status(), 204);

    // Crash: no chance to flush anything.
    signal(&launcher.child, "KILL");
    wait_for_exit(&mut launcher.child, Duration::from_secs(10));

    let mut launcher = launch(dir.path());
    let bar: Value = http
        .get(format!("{}/v1/entities/post-1", launcher.actions))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bar["counts"]["likes"], 1, "{bar}");
    assert_eq!(bar["counts"]["views"], 1, "{bar}");
    assert_eq!(bar["me"]["liked"], true);

    signal(&launcher.child, "TERM");
    let status = wait_for_exit(&mut launcher.child, Duration::from_secs(30));
    assert!(status.success(), "SIGTERM ends the launcher with status 0, got {status}");
}
