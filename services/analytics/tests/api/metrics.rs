//! Metric queries: time zones, DST, distinct users, cumulative mode, bad queries, isolation.

use chrono::{Datelike, Days, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::{Stack, event};

fn at(date: NaiveDate, hour: u32, minute: u32) -> String {
    Utc.from_utc_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn values(points: &[(String, i64)]) -> Vec<i64> {
    points.iter().map(|(_, value)| *value).collect()
}

#[tokio::test]
async fn local_days_start_mid_hour_in_kolkata_and_kathmandu() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let day = Utc::now().date_naive() - Days::new(3);
    // A minute before and after local midnight: Kolkata is +05:30, Kathmandu +05:45.
    let batch = json!([
        event("kolkata", "k1", &at(day, 18, 29)),
        event("kolkata", "k2", &at(day, 18, 31)),
        event("kathmandu", "n1", &at(day, 18, 14)),
        event("kathmandu", "n2", &at(day, 18, 16)),
    ]);
    assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 4);
    let range = format!("from={}T00:00:00Z&to={}T12:00:00Z&interval=day", day, day + Days::new(1));

    let kolkata = stack.points(&app.token, "events.kolkata", &format!("{range}&tz=Asia/Kolkata")).await;
    assert_eq!(kolkata, vec![(at(day - Days::new(1), 18, 30), 1), (at(day, 18, 30), 1)]);
    let kathmandu = stack.points(&app.token, "events.kathmandu", &format!("{range}&tz=Asia/Kathmandu")).await;
    assert_eq!(kathmandu, vec![(at(day - Days::new(1), 18, 15), 1), (at(day, 18, 15), 1)]);
    // In UTC both pairs fall on one day, and the next is empty, not missing.
    assert_eq!(values(&stack.points(&app.token, "events.kolkata", &range).await), vec![2, 0]);
    // Hours in Kolkata start at half past in UTC.
    let hours = stack
        .points(
            &app.token,
            "events.kolkata",
            &format!("from={}&to={}&interval=hour&tz=Asia/Kolkata", at(day, 17, 0), at(day, 20, 0)),
        )
        .await;
    assert_eq!(values(&hours), vec![0, 1, 1, 0]);
    assert_eq!(hours[0].0, at(day, 16, 30));
}

#[tokio::test]
async fn a_day_across_a_dst_change_is_one_day_of_23_or_25_hours() {
    // Long enough to reach back to the last DST change in Berlin, whatever today is.
    let stack = Stack::start_with(|config| config.raw_events.retention_days = 400).await;
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    // The latest day in Berlin that was not 24 hours long (the retention is raised to reach it).
    let dst_day = (1..400)
        .map(|back| Utc::now().with_timezone(&berlin).date_naive() - Days::new(back))
        .find(|day| {
            let start = |d: NaiveDate| berlin.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap();
            start(*day + Days::new(1)) - start(*day) != Duration::hours(24)
        })
        .unwrap();
    let app = stack.app().await;
    let local = |hour: u32, minute: u32| {
        let instant = berlin.from_local_datetime(&dst_day.and_hms_opt(hour, minute, 0).unwrap()).earliest().unwrap();
        instant.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    // Just after the local midnight that starts the day, and just before the one that ends it.
    let batch = json!([event("dst", "d1", &local(0, 5)), event("dst", "d2", &local(23, 55))]);
    assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 2);
    let query = format!("from={}&to={}&interval=day&tz=Europe/Berlin", local(12, 0), local(12, 1));
    let points = stack.points(&app.token, "events.dst", &query).await;
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0], (local(0, 0), 2));
}

#[tokio::test]
async fn active_users_are_distinct_per_interval_and_cumulative_over_the_range() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let today = Utc::now().date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()) + 14);
    let by = |user: &str, id: &str, day: NaiveDate| {
        let mut event = event("open", id, &at(day, 10, 0));
        event["user_id"] = json!(user);
        event
    };
    let tuesday = monday + Days::new(1);
    let batch = json!([by("u1", "a", monday), by("u2", "b", monday), by("u2", "c", tuesday), by("u3", "d", tuesday)]);
    assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 4);
    let week = format!("from={monday}T00:00:00Z&to={}T00:00:00Z", monday + Days::new(7));

    let daily = stack.points(&app.token, "users.active", &format!("{week}&interval=day")).await;
    assert_eq!(values(&daily), vec![2, 2, 0, 0, 0, 0, 0]);
    let weekly = stack.points(&app.token, "users.active", &format!("{week}&interval=week")).await;
    assert_eq!(weekly, vec![(at(monday, 0, 0), 3)]);
    let cumulative = stack.points(&app.token, "users.active", &format!("{week}&interval=day&mode=cumulative")).await;
    assert_eq!(values(&cumulative), vec![2, 3, 3, 3, 3, 3, 3]);
    let opens = stack.points(&app.token, "events.open", &format!("{week}&interval=day&mode=cumulative")).await;
    assert_eq!(values(&opens), vec![2, 4, 4, 4, 4, 4, 4]);
    // A week in Kolkata starts on Sunday 18:30 UTC, and still holds all three.
    let local = stack.points(&app.token, "users.active", &format!("{week}&interval=week&tz=Asia/Kolkata")).await;
    assert_eq!(local.iter().map(|(_, v)| *v).max(), Some(3));
}

#[tokio::test]
async fn bad_queries_get_a_precise_problem() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let (api, token) = (&stack.api, app.token.as_str());
    let get = |path: String| async move { api.get(&path, token).await };
    let range = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z";
    get(format!("/v1/metrics/actions.follows?{range}")).await.assert_problem(404, None);
    get("/v1/metrics/events.x?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z".into())
        .await
        .assert_problem(400, Some("from"));
    get(format!("/v1/metrics/events.x?{range}&tz=Mars/Olympus")).await.assert_problem(400, Some("tz"));
    get(format!("/v1/metrics/events.x?{range}&interval=fortnight")).await.assert_problem(400, Some("interval"));
    get(format!("/v1/metrics/events.x?{range}&mode=sometimes")).await.assert_problem(400, Some("mode"));
    get("/v1/metrics/events.x?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=hour".into())
        .await
        .assert_problem(400, Some("interval"));
    get("/v1/metrics/events.x?to=2026-01-01T00:00:00Z".into()).await.assert_problem(400, Some("from"));
}

#[tokio::test]
async fn an_app_reads_only_its_own_analytics_and_the_operator_any() {
    let stack = Stack::start().await;
    let (mine, theirs) = (stack.app().await, stack.app().await);
    let now = Utc::now().to_rfc3339();
    stack.ingest(&mine.token, json!([event("secret", "s1", &now)])).await;
    let range = super::range_of_today();
    let mine_id = stack.app_id(&mine.token);

    let peek = stack.api.get(&format!("/v1/metrics/events.secret?{range}&app_id={mine_id}"), &theirs.token).await;
    peek.assert_problem(403, None);
    assert_eq!(stack.today(&theirs.token, "events.secret").await, 0);
    assert_eq!(stack.today(&mine.token, "events.secret").await, 1);

    let operator = super::OPERATOR_TOKEN;
    let seen = stack.points(operator, "events.secret", &format!("{range}&app_id={mine_id}")).await;
    assert_eq!(values(&seen), vec![1]);
    // Without an app, the operator sees the whole platform.
    stack.ingest(&theirs.token, json!([event("secret", "s1", &now)])).await;
    assert_eq!(values(&stack.points(operator, "events.secret", &range).await), vec![2]);
}
