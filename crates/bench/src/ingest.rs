//! The ingest run: SDK batches of custom events (500 each, as an SDK flushes them) posted to
//! analytics by closed-loop clients with an app token, for a fixed time. Every event has a
//! unique insert id, a user from a pool of 10,000, a timestamp of now and two properties.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::{self, Op};
use crate::stats::Stats;

/// Events per batch.
pub const BATCH: usize = 500;
const USERS: usize = 10_000;
const NAMES: [&str; 4] = ["app_open", "purchase", "view_item", "search"];

pub struct Ingest {
    pub analytics_url: String,
    pub app_token: String,
    pub workers: usize,
    pub seconds: u64,
}

impl Ingest {
    /// Runs the load; answers the figures (events accepted per second, batch latencies).
    pub async fn run(&self) -> anyhow::Result<Value> {
        let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2)).build()?;
        let (url, token) = (format!("{}/v1/events:batch", self.analytics_url), self.app_token.clone());
        let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = accepted.clone();
        let op: Op = Arc::new(move |n| {
            let (http, url, token, counted) = (http.clone(), url.clone(), token.clone(), counted.clone());
            Box::pin(async move {
                let sent = http.post(&url).bearer_auth(&token).json(&batch(n)).send().await;
                let Ok(response) = sent else { return false };
                if !response.status().is_success() {
                    return false;
                }
                let Ok(report) = response.json::<Value>().await else { return false };
                let kept = report["accepted"].as_u64().unwrap_or(0);
                counted.fetch_add(kept, std::sync::atomic::Ordering::Relaxed);
                kept == BATCH as u64
            })
        });
        let stats: Stats = load::saturate(self.workers, Duration::from_secs(self.seconds), op).await;
        let events = accepted.load(std::sync::atomic::Ordering::Relaxed);
        let per_second = events as f64 / stats.elapsed.as_secs_f64().max(f64::EPSILON);
        println!("| ingest, {BATCH}-event batches, {} clients | {per_second:.0} events/s |", self.workers);
        println!("{}", stats.row("ingest batches"));
        Ok(json!({
            "events_per_second": per_second,
            "events": events,
            "batches_per_second": stats.throughput(),
            "batch_p50_ms": stats.millis(0.5),
            "batch_p99_ms": stats.millis(0.99),
            "batch_p999_ms": stats.millis(0.999),
            "errors": stats.errors,
            "workers": self.workers,
            "batch": BATCH,
        }))
    }
}

/// Batch `n`: its events' insert ids are unique across the run.
fn batch(n: usize) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let events: Vec<Value> = (0..BATCH)
        .map(|i| {
            let k = n * BATCH + i;
            json!({
                "name": NAMES[k % NAMES.len()],
                "insert_id": format!("b{n}-{i}"),
                "user_id": format!("bench-user-{}", k % USERS),
                "timestamp": now,
                "properties": { "plan": if k.is_multiple_of(3) { "pro" } else { "free" }, "n": k },
            })
        })
        .collect();
    json!({ "events": events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_unique_insert_ids() {
        let batch = batch(7);
        let events = batch["events"].as_array().unwrap();
        assert_eq!(events.len(), BATCH);
        let ids: std::collections::HashSet<&str> = events.iter().map(|e| e["insert_id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), BATCH);
    }
}
