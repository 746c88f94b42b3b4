//! The launcher as a process, as ops and developers run it: acknowledged writes survive a crash
//! (SIGKILL), a fan-out killed mid-way resumes and notifies everyone exactly once, and SIGTERM
//! stops everything cleanly with exit status 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Launcher {
    child: Child,
    users: String,
    actions: String,
    notifications: String,
}

/// Starts the `chorus` binary on free ports and waits for it to print its services' URLs.
fn launch(data_dir: &std::path::Path) -> Launcher {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("CHORUS_USERS__HTTP__PORT", "0")
        .env("CHORUS_ACTIONS__HTTP__PORT", "0")
        .env("CHORUS_NOTIFICATIONS__HTTP__PORT", "0")
        .env("CHORUS_ANALYTICS__HTTP__PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the launcher starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let (mut users, mut actions, mut notifications) = (None, None, None);
    while users.is_none() || actions.is_none() || notifications.is_none() {
        let line = lines.next().expect("the launcher prints its services").expect("readable stdout");
        let url = line.split_whitespace().find(|word| word.starts_with("http://")).map(str::to_owned);
        match line.split_whitespace().next() {
            Some("users") => users = url,
            Some("actions") => actions = url,
            Some("notifications") => notifications = url,
            _ => {}
        }
    }
    // Keep draining stdout so the launcher never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Launcher { child, users: users.unwrap(), actions: actions.unwrap(), notifications: notifications.unwrap() }
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

/// A session of the demo app's user on `device`: their access token.
async fn session(http: &reqwest::Client, launcher: &Launcher, data_dir: &std::path::Path, device: &str) -> String {
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("credentials.json")).unwrap()).unwrap();
    let api_key = credentials["demo_app"]["api_key"].as_str().unwrap();
    let session: Value = http
        .post(format!("{}/v1/sessions", launcher.users))
        .json(&json!({ "api_key": api_key, "device_id": device }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn acknowledged_writes_survive_a_crash_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut launcher = launch(dir.path());
    let token = session(&http, &launcher, dir.path(), "crash-test").await;
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

/// Subscribers the killed fan-out reaches (`CHORUS_FANOUT_SUBSCRIBERS` changes it).
fn kill_test_audience() -> i64 {
    std::env::var("CHORUS_FANOUT_SUBSCRIBERS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000)
}

/// The launcher's notifications database, opened beside it (SQLite in WAL mode takes a second
/// connection; it waits for the launcher's writer rather than failing).
fn notifications_db(data_dir: &std::path::Path) -> diesel::SqliteConnection {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let path = data_dir.join("notifications.db");
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 30000;").unwrap();
    conn
}

fn count(conn: &mut diesel::SqliteConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

#[tokio::test]
async fn a_fan_out_killed_mid_way_resumes_and_notifies_every_subscriber_exactly_once() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut launcher = launch(dir.path());
    let mut tokens = Vec::new();
    for device in ["subscriber", "author"] {
        tokens.push(session(&http, &launcher, dir.path(), device).await);
    }
    let subscribed = http
        .put(format!("{}/v1/entities/big-post/subscriptions/new_comments", launcher.notifications))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 204);

    // The rest of the audience goes straight into the database, as a seed: copies of the first
    // subscription under other user ids.
    let total = kill_test_audience();
    let mut db = notifications_db(dir.path());
    db.batch_execute(&format!(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {seeded}) \
         INSERT INTO subscriptions (app_id, user_id, entity_key, key_hash, kind, created_at) \
         SELECT s.app_id, printf('seeded-%06d', g.n), s.entity_key, s.key_hash, s.kind, s.created_at \
         FROM subscriptions s, g WHERE s.entity_key = 'big-post';",
        seeded = total - 1
    ))
    .unwrap();

    let commented = http
        .post(format!("{}/v1/entities/big-post/comments", launcher.actions))
        .bearer_auth(&tokens[1])
        .json(&json!({ "text": "Hello, everyone" }))
        .send()
        .await
        .unwrap();
    assert_eq!(commented.status(), 201);
    // Some pages are in when the process dies, with no chance to finish its page or hand the
    // job back.
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&mut db, "SELECT count(*) AS n FROM notifications") < 2_000 {
        assert!(Instant::now() < deadline, "the fan-out did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&launcher.child, "KILL");
    wait_for_exit(&mut launcher.child, Duration::from_secs(10));
    let at_kill = count(&mut db, "SELECT count(*) AS n FROM notifications");
    assert!(at_kill < total, "the kill came mid-way ({at_kill} of {total} written)");

    // Restarted, the job resumes after its last committed page once its lease runs out.
    let mut launcher = launch(dir.path());
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(&mut db, "SELECT count(*) AS n FROM fanout_jobs") > 0 {
        assert!(Instant::now() < deadline, "the fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let notified = count(&mut db, "SELECT count(DISTINCT user_id) AS n FROM notifications");
    let doubled = count(
        &mut db,
        "SELECT count(*) AS n FROM (SELECT user_id FROM notifications GROUP BY user_id HAVING count(*) > 1)",
    );
    assert_eq!((notified, doubled), (total, 0), "every subscriber exactly once");
    // Each page commits whole, with its cursor: the kill found only whole pages of 500.
    assert_eq!(at_kill % 500, 0, "pages commit whole ({at_kill} at the kill)");

    signal(&launcher.child, "TERM");
    wait_for_exit(&mut launcher.child, Duration::from_secs(30));
}
