//! The loader against services running as their own processes (`cargo xtask bench --db
//! postgres`): it creates an app, writes its history into the databases (or creates entities
//! and the hot entity's comments through the API), opens sessions, then measures each operation
//! on its own, the SDK mix at saturation and at fixed rates, the recount and propagation, and
//! writes the figures as JSON for the report.

use anyhow::Context;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::chart::Point;
use crate::cost::{CostMeter, Usage};
use crate::load;
use crate::mix::{Baseline, Population, Tally, Target, op};
use crate::seed::Seed;
use crate::stats::Stats;

/// Where the services are, and how hard to push them.
pub struct Remote {
    pub users_url: String,
    pub actions_url: String,
    /// For the propagation run: a comment's 2xx to the subscriber's inbox frame.
    pub notifications_url: Option<String>,
    /// The FCM fake notifications pushes to, if any: the broadcast run waits for its pushes.
    pub fcm_fake_url: Option<String>,
    pub operator_token: String,
    pub seconds: u64,
    pub workers: usize,
    /// Concurrent clients of the view run.
    pub view_workers: usize,
    pub population: Population,
    /// Comments on the hot entity before measuring, to show reads stay flat as activity grows.
    pub hot_actions: usize,
    pub rate_fraction: f64,
    /// Only the runs whose names contain one of these (all when empty).
    pub only: Vec<String>,
    /// The bare handler on the same database, for the action-bar ceiling.
    pub baseline_url: Option<String>,
    /// Where the chart of latency against offered rate goes.
    pub chart: Option<std::path::PathBuf>,
    /// History to write into the databases before measuring.
    pub seed: Option<Seed>,
    /// What each request costs (CPU by process, statements, commits), run by run.
    pub cost: CostMeter,
}

/// The fixed rate the SDK mix's latency target is stated at (requests per second).
const TARGET_RATE: f64 = 2_000.0;

pub const HOT_KEY: &str = "hot-entity";

/// The longest the loader waits for notifications to catch up with the actions feed.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

fn figures(name: &str, stats: &Stats, failures: std::collections::BTreeMap<String, u64>, cost: Value) -> Value {
    println!("{}", stats.row(name));
    if !failures.is_empty() {
        println!("|   failures: {failures:?} | | | | | |");
    }
    json!({
        "failures": failures,
        "name": name,
        "ok": stats.ok,
        "errors": stats.errors,
        "throughput": stats.throughput(),
        "p50_ms": stats.millis(0.5),
        "p99_ms": stats.millis(0.99),
        "p999_ms": stats.millis(0.999),
        "cost_per_request": cost,
    })
}

/// The cost table: what one request took, run by run: microseconds of CPU by process, and the
/// database's statements and commits.
fn print_costs(runs: &[Value]) {
    let measured: Vec<&Value> = runs.iter().filter(|run| run["cost_per_request"].is_object()).collect();
    let Some(first) = measured.first() else { return };
    let processes: Vec<String> =
        first["cost_per_request"]["cpu_us"].as_object().into_iter().flat_map(|m| m.keys().cloned()).collect();
    println!();
    // Statements and commits come from PostgreSQL's statistics; SQLite keeps none.
    let counted = measured.iter().any(|run| !run["cost_per_request"]["statements"].is_null());
    let database = if counted { " statements | commits |" } else { "" };
    println!(
        "What a request costs: CPU in microseconds by process (the box's ceiling is cores × 1,000,000 / all){}:",
        if counted { ", database statements and commits" } else { "" }
    );
    println!("| run | {} |{database}", processes.join(" | "));
    println!("|---|{}{}", "---|".repeat(processes.len()), if counted { "---|---|" } else { "" });
    for run in measured {
        let cost = &run["cost_per_request"];
        let cells: Vec<String> = processes.iter().map(|p| cost["cpu_us"][p].to_string()).collect();
        let statements =
            if counted { format!(" {} | {} |", cost["statements"], cost["commits"]) } else { String::new() };
        println!("| {} | {} |{statements}", run["name"].as_str().unwrap_or_default(), cells.join(" | "));
    }
}

impl Remote {
    /// Waits until notifications has applied every event of the actions feed; returns the
    /// seconds it took.
    async fn drain(&self, notifications_url: &str) -> anyhow::Result<f64> {
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        while started.elapsed() < DRAIN_LIMIT {
            let metrics = http.get(format!("{notifications_url}/metrics")).send().await?.text().await?;
            let position = metrics
                .lines()
                .find(|line| line.starts_with("chorus_feed_position{feed=\"actions\""))
                .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0) as i64;
            let page: Value = http
                .get(format!("{}/v1/events?after={position}&limit=1", self.actions_url))
                .bearer_auth(&self.operator_token)
                .send()
                .await?
                .json()
                .await?;
            if page["items"].as_array().is_some_and(Vec::is_empty) {
                return Ok(started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::bail!("notifications did not catch up with the actions feed within {DRAIN_LIMIT:?}")
    }

    /// Compares the writes acknowledged since `before` with the stored counts, entity by entity
    /// (a shortfall is a lost write, an excess a doubled one), then has the operator recount
    /// rebuild every entity's counts from its rows (a fix means the counts had drifted).
    async fn recount(&self, target: &Target, before: &HashMap<String, Tally>) -> anyhow::Result<Value> {
        let acknowledged = target.take_ledger();
        let after = target.stored_counts().await?;
        let (mut lost, mut doubled, mut comments, mut views) = (0i64, 0i64, 0i64, 0i64);
        for (key, now) in &after {
            let was = before.get(key).copied().unwrap_or_default();
            let acked = acknowledged.get(key).copied().unwrap_or_default();
            comments += acked.comments;
            views += acked.views;
            for missing in [acked.comments - (now.comments - was.comments), acked.views - (now.views - was.views)] {
                if missing > 0 {
                    lost += missing;
                } else {
                    doubled -= missing;
                }
            }
        }
        let rebuilt: Value = reqwest::Client::new()
            .post(format!("{}/v1/admin/recount", self.actions_url))
            .bearer_auth(&self.operator_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let drifted = rebuilt["entities_fixed"].as_i64().unwrap_or(-1);
        println!(
            "recount after the fixed-rate runs: {comments} comments and {views} views acknowledged, \
             {lost} lost, {doubled} doubled; the operator recount fixed {drifted} entities"
        );
        Ok(json!({
            "comments_acknowledged": comments,
            "views_acknowledged": views,
            "lost": lost,
            "doubled": doubled,
            "entities_fixed_by_recount": drifted,
        }))
    }

    /// Runs `group` at saturation with `clients` in turns of a second each until each has had
    /// `duration` (each warmed up first), and gives each one's figures, in the group's order.
    async fn in_turns(
        &self,
        target: &Target,
        group: &[(&str, load::Op)],
        clients: usize,
        warmup: Duration,
        duration: Duration,
    ) -> Vec<Value> {
        for (_, scenario) in group {
            load::saturate(clients, warmup, scenario.clone()).await;
        }
        target.take_failures();
        let turn = Duration::from_secs(1);
        let mut measured: Vec<(Option<Stats>, BTreeMap<String, u64>, Usage)> =
            group.iter().map(|_| Default::default()).collect();
        for _ in 0..duration.as_secs().max(1) {
            for ((_, scenario), (stats, failures, used)) in group.iter().zip(&mut measured) {
                let before = self.cost.sample();
                let part = load::saturate(clients, turn, scenario.clone()).await;
                *used += &Usage::between(&before, &self.cost.sample());
                for (cause, count) in target.take_failures() {
                    *failures.entry(cause).or_default() += count;
                }
                match stats {
                    Some(stats) => stats.merge(&part),
                    None => *stats = Some(part),
                }
            }
        }
        group
            .iter()
            .zip(measured)
            .filter_map(|((name, _), (stats, failures, used))| {
                let stats = stats?;
                Some(figures(name, &stats, failures, self.cost.per_request(&used, stats.ok)))
            })
            .collect()
    }

    pub async fn run(self) -> anyhow::Result<Value> {
        let http = reqwest::Client::new();
        let app: Value = http
            .post(format!("{}/v1/apps", self.users_url))
            .bearer_auth(&self.operator_token)
            .json(&json!({ "name": "Bench" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let api_key = app["app"]["api_key"].as_str().unwrap_or_default().to_owned();
        let api_secret = app["api_secret"].as_str().unwrap_or_default().to_owned();
        let app_id = app["app"]["id"].as_str().unwrap_or_default().to_owned();
        if let Some(seed) = self.seed.clone() {
            let app_id = app_id.clone();
            tokio::task::spawn_blocking(move || seed.write(&app_id)).await??;
        }
        // The bare handler shares the actions database: it reads the very rows Chorus reads.
        let baseline = self.baseline_url.clone().map(|url| Baseline { url, app: app_id });
        let target_key = api_key.clone();
        let target = Target::prepare(
            self.users_url.clone(),
            self.actions_url.clone(),
            self.notifications_url.clone().context("the SDK mix reads inboxes: --notifications-url")?,
            baseline,
            api_key,
            &self.population,
            self.seed.is_some(),
        )
        .await?;
        // A second of warm-up fills the pools and caches: thousands of requests at these rates.
        let (duration, workers, warmup) = (Duration::from_secs(self.seconds), self.workers, Duration::from_secs(1));

        // The hot entity: thousands of comments, so its action bar can be read against a new one.
        anyhow::ensure!(
            target.upsert(HOT_KEY).await && target.upsert("fresh-entity").await,
            "creating entities failed"
        );
        let fresh = op(&target, |t, n| async move { t.read_bar_of("fresh-entity", n).await });
        if self.seed.is_none() {
            let seed = op(&target, |t, n| async move { t.comment_on(HOT_KEY, n).await });
            let seeded = load::count(workers, self.hot_actions, seed).await;
            anyhow::ensure!(seeded.errors == 0, "seeding the hot entity failed {} times", seeded.errors);
        }
        let hot = op(&target, |t, n| async move { t.read_bar_of(HOT_KEY, n).await });

        println!("| run | req/s | p50 ms | p99 ms | p99.9 ms | errors |");
        println!("|---|---|---|---|---|---|");
        let mut runs = Vec::new();
        let scenarios = [
            ("comment", op(&target, |t, n| async move { t.comment(n).await })),
            ("like / unlike", op(&target, |t, n| async move { t.toggle_like(n).await })),
            ("view", op(&target, |t, n| async move { t.view(n).await })),
            ("read action bar", op(&target, |t, n| async move { t.read_bar(n).await })),
            ("read action bar, bare handler", op(&target, |t, n| async move { t.baseline_bar(n).await })),
            ("read action bar, new entity", fresh),
            ("read action bar, hot entity", hot),
            ("read comments", op(&target, |t, n| async move { t.read_comments(n).await })),
            ("read inbox", op(&target, |t, n| async move { t.read_inbox(n).await })),
            ("new session", op(&target, |t, n| async move { t.new_session(n).await })),
            ("sdk mix", op(&target, |t, n| async move { t.sdk_mix(n).await })),
        ];
        let mut mix_rate = 0.0;
        let (mut sweep, mut recount) = (Vec::new(), Value::Null);
        let selected: Vec<(&str, load::Op)> = scenarios
            .into_iter()
            .filter(|(name, _)| self.only.is_empty() || self.only.iter().any(|only| name.contains(only.as_str())))
            .filter(|(name, _)| !name.contains("bare handler") || self.baseline_url.is_some())
            .collect();
        // The action-bar reads are compared with each other (Chorus against the bare handler, the
        // hot entity against a new one), so they run in turns, a second each: every ratio
        // between them then compares the same stretch of a noisy machine.
        // They run where the first of them stands in the list.
        let in_turns = |name: &str| name.starts_with("read action bar");
        let bars: Vec<(&str, load::Op)> = selected.iter().filter(|(name, _)| in_turns(name)).cloned().collect();
        for (name, scenario) in selected {
            if in_turns(name) {
                if name == bars[0].0 {
                    runs.extend(self.in_turns(&target, &bars, workers, warmup, duration).await);
                }
                continue;
            }
            let clients = if name == "view" { self.view_workers } else { workers };
            load::saturate(clients, warmup, scenario.clone()).await;
            target.take_failures();
            let before = self.cost.sample();
            let stats = load::saturate(clients, duration, scenario.clone()).await;
            let cost = self.cost.per_request(&Usage::between(&before, &self.cost.sample()), stats.ok);
            runs.push(figures(name, &stats, target.take_failures(), cost));
            if name == "sdk mix" {
                let saturation = stats.throughput();
                mix_rate = saturation * self.rate_fraction;
                // Latency against offered rate, open loop; then every acknowledged write is
                // looked for in the stored counts.
                let before = target.stored_counts().await?;
                target.take_ledger();
                for rate in offered_rates(saturation, self.rate_fraction) {
                    let before = self.cost.sample();
                    let fixed = load::fixed_rate(rate, duration, scenario.clone()).await;
                    let cost = self.cost.per_request(&Usage::between(&before, &self.cost.sample()), fixed.ok);
                    runs.push(figures(&format!("sdk mix at {rate:.0}/s"), &fixed, target.take_failures(), cost));
                    sweep.push(Point {
                        offered: rate,
                        p50_ms: fixed.millis(0.5),
                        p99_ms: fixed.millis(0.99),
                        p999_ms: fixed.millis(0.999),
                    });
                }
                recount = self.recount(&target, &before).await?;
            }
        }
        print_costs(&runs);
        if let (Some(path), false) = (&self.chart, sweep.is_empty()) {
            crate::chart::latency_against_rate(path, &sweep)?;
        }
        // Every comment reaches notifications; how long its follower needs to drain what the
        // runs above produced is the consumer's side of the write path.
        let drained_secs = match &self.notifications_url {
            Some(url) => Some(self.drain(url).await?),
            None => None,
        };
        if let Some(secs) = drained_secs {
            println!("notifications applied the actions feed's backlog {secs:.1} s after the runs");
        }
        let propagation = match &self.notifications_url {
            Some(url) if self.only.is_empty() || self.only.iter().any(|only| "propagation".contains(only.as_str())) => {
                let rate = if mix_rate > 0.0 { mix_rate } else { 500.0 };
                let background = op(&target, |t, n| async move { t.sdk_mix(n).await });
                let stats = propagation(&target, url, background, rate, duration).await?;
                Some(figures(
                    &format!("comment to subscriber's stream, mix at {rate:.0}/s"),
                    &stats,
                    target.take_failures(),
                    Value::Null,
                ))
            }
            _ => None,
        };
        // A broadcast to every seeded user: the time until the last page of its fan-out lands.
        // Asked for by name only (`--only broadcast`): waiting for 99,000 pushes would take the
        // default run past ten minutes from a fresh checkout.
        let broadcast_secs = match (&self.notifications_url, &self.seed) {
            (Some(url), Some(seed)) if self.only.iter().any(|only| "broadcast".contains(only.as_str())) => {
                let started = std::time::Instant::now();
                let secs = broadcast_to_everyone(&self.users_url, url, &target_key, &api_secret, seed.users).await?;
                println!("a broadcast to {} users reached every inbox in {secs:.1} s", seed.users);
                let pushed = match &self.fcm_fake_url {
                    Some(fcm) if seed.fcm_devices() > 0 => {
                        let secs = pushes_received(fcm, seed.fcm_devices(), started).await?;
                        println!("… and {} FCM devices in {secs:.1} s", seed.fcm_devices());
                        Some(json!({ "devices": seed.fcm_devices(), "secs": secs }))
                    }
                    _ => None,
                };
                Some((secs, pushed))
            }
            _ => None,
        };
        let (broadcast_secs, broadcast_pushed) = broadcast_secs.unzip();
        Ok(json!({
            "broadcast_to_everyone_secs": broadcast_secs,
            "broadcast_pushed_to_fcm": broadcast_pushed.flatten(),
            "notifications_drain_secs": drained_secs,
            "propagation": propagation,
            "workers": workers,
            "view_workers": self.view_workers,
            "seconds": self.seconds,
            "users": self.population.users,
            "entities": self.population.entities,
            "hot_entity_actions": self.hot_actions,
            "seed": self.seed.as_ref().map(|seed| json!({
                "users": seed.users,
                "entities": seed.entities,
                "actions": seed.actions,
                "hot_entity_comments": seed.hot_actions,
                "hot_entity_subscribers": seed.hot_subscribers,
            })),
            "fixed_rate": mix_rate,
            "runs": runs,
            "recount": recount,
        }))
    }
}

/// A comment's 2xx to the frame that brings it to a subscriber's inbox stream, measured every
/// 20 ms while `background` runs at `rate`: the latency of the whole pushed path (actions' feed,
/// notifications' follower, the inbox stream).
async fn propagation(
    target: &std::sync::Arc<Target>,
    notifications_url: &str,
    background: load::Op,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Stats> {
    use futures_util::StreamExt;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    const KEY: &str = "propagation-entity";
    anyhow::ensure!(target.upsert(KEY).await, "creating the propagation entity failed");
    let subscriber = target.token(0);
    let http = reqwest::Client::new();
    http.put(format!("{notifications_url}/v1/entities/{KEY}/subscriptions/new_comments"))
        .bearer_auth(&subscriber)
        .send()
        .await?
        .error_for_status()?;
    let stream =
        http.get(format!("{notifications_url}/v1/notifications/stream")).bearer_auth(&subscriber).send().await?;
    let stream = stream.error_for_status()?;

    // Acknowledged comments by text, and the latencies of those that arrived.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let reader = {
        let (sent, arrived) = (sent.clone(), arrived.clone());
        tokio::spawn(async move {
            let mut body = stream.bytes_stream();
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    let Some(marker) = frame.split("probe-").nth(1) else { continue };
                    let id: String = marker.chars().take_while(char::is_ascii_digit).collect();
                    if let Some(at) = sent.lock().unwrap().remove(&id) {
                        arrived.lock().unwrap().push(now - at);
                    }
                }
            }
        })
    };
    let load = tokio::spawn(load::fixed_rate(rate, duration, background));
    let (started, mut probes, mut errors) = (Instant::now(), 0usize, 0usize);
    while started.elapsed() < duration {
        let author = target.token(1 + probes % 10);
        let text = format!("probe-{probes}");
        let response = http
            .post(format!("{}/v1/entities/{KEY}/comments", target.actions_url()))
            .bearer_auth(&author)
            .json(&json!({ "text": text }))
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => {
                sent.lock().unwrap().insert(probes.to_string(), Instant::now());
            }
            _ => errors += 1,
        }
        probes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = load.await;
    // Stragglers get a few seconds; whatever never arrives counts as an error.
    tokio::time::sleep(Duration::from_secs(3)).await;
    reader.abort();
    let lost = sent.lock().unwrap().len();
    let latencies = std::mem::take(&mut *arrived.lock().unwrap());
    Ok(Stats::new(latencies, errors + lost, started.elapsed()))
}

/// The rates the mix is offered in its fixed-rate runs: the target's 2,000/s, the configured
/// fraction of saturation, and a quarter and three quarters of it, in increasing order.
fn offered_rates(saturation: f64, fraction: f64) -> Vec<f64> {
    let near = |a: f64, b: f64| a.max(b) < a.min(b) * 1.05;
    let mut rates = vec![saturation * 0.25, saturation * fraction, saturation * 0.75];
    // Rates within 5% of each other measure the same thing once; the target's rate always runs.
    rates.retain(|rate| *rate >= 10.0 && !near(*rate, TARGET_RATE));
    rates.push(TARGET_RATE);
    rates.sort_by(f64::total_cmp);
    rates.dedup_by(|later, earlier| near(*later, *earlier));
    rates
}

/// Waits until the FCM fake at `fcm_url` has accepted `devices` messages; seconds since `started`.
async fn pushes_received(fcm_url: &str, devices: u64, started: std::time::Instant) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let deadline = started + Duration::from_secs(900);
    loop {
        let count: Value =
            http.get(format!("{fcm_url}/fake/received")).send().await?.error_for_status()?.json().await?;
        let received = count["received"].as_u64().unwrap_or(0);
        if received >= devices {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the FCM fake received {received} of {devices} pushes in 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends a broadcast to every user of the app and waits until its fan-out has reached `users`
/// inboxes (the first page is written before the answer, the rest in pages after it): seconds.
async fn broadcast_to_everyone(
    users_url: &str,
    notifications_url: &str,
    api_key: &str,
    api_secret: &str,
    users: u64,
) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{users_url}/v1/tokens/app"))
        .json(&json!({ "api_key": api_key, "api_secret": api_secret }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["access_token"].as_str().unwrap_or_default().to_owned();
    let started = std::time::Instant::now();
    let sent: Value = http
        .post(format!("{notifications_url}/v1/broadcasts"))
        .bearer_auth(&token)
        .json(&json!({ "title": "To everyone", "audience": { "type": "everyone" } }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = sent["id"].as_str().unwrap_or_default().to_owned();
    let deadline = started + Duration::from_secs(900);
    loop {
        let list: Value = http
            .get(format!("{notifications_url}/v1/broadcasts?limit=5"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let reached = list["items"]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["id"] == id.as_str()))
            .and_then(|item| item["recipients"].as_u64())
            .unwrap_or(0);
        if reached >= users {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the broadcast reached {reached} of {users} in 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_rate_always_runs_and_near_rates_run_once() {
        // Half of saturation falls within 5% of the target's rate: the target's rate runs instead.
        assert_eq!(offered_rates(3_822.0, 0.5), vec![955.5, TARGET_RATE, 2_866.5]);
        assert_eq!(offered_rates(10_000.0, 0.5), vec![TARGET_RATE, 2_500.0, 5_000.0, 7_500.0]);
        assert_eq!(offered_rates(20.0, 0.5), vec![10.0, 15.0, TARGET_RATE]);
    }
}
