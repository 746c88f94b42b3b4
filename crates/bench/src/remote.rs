//! The loader against services running as their own processes (`cargo xtask bench --db
//! postgres`): it creates an app, sessions, entities and one hot entity, then measures each
//! operation on its own and the SDK mix, and writes the figures as JSON for the report.

use serde_json::{Value, json};
use std::time::Duration;

use crate::load;
use crate::mix::{Population, Target, op};
use crate::stats::Stats;

/// Where the services are, and how hard to push them.
pub struct Remote {
    pub users_url: String,
    pub actions_url: String,
    pub operator_token: String,
    pub seconds: u64,
    pub workers: usize,
    pub population: Population,
    /// Comments on the hot entity before measuring, to show reads stay flat as activity grows.
    pub hot_actions: usize,
    pub rate_fraction: f64,
    /// Only the runs whose names contain one of these (all when empty).
    pub only: Vec<String>,
}

const HOT_KEY: &str = "hot-entity";

fn figures(name: &str, stats: &Stats) -> Value {
    println!("{}", stats.row(name));
    json!({
        "name": name,
        "ok": stats.ok,
        "errors": stats.errors,
        "throughput": stats.throughput(),
        "p50_ms": stats.millis(0.5),
        "p99_ms": stats.millis(0.99),
        "p999_ms": stats.millis(0.999),
    })
}

impl Remote {
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
        let target =
            Target::prepare(self.users_url.clone(), self.actions_url.clone(), None, api_key, &self.population).await?;
        let (duration, workers, warmup) = (Duration::from_secs(self.seconds), self.workers, Duration::from_secs(2));

        // The hot entity: thousands of comments, so its action bar can be read against a new one.
        anyhow::ensure!(
            target.upsert(HOT_KEY).await && target.upsert("fresh-entity").await,
            "creating entities failed"
        );
        let fresh = op(&target, |t, n| async move { t.read_bar_of("fresh-entity", n).await });
        let seed = op(&target, |t, n| async move { t.comment_on(HOT_KEY, n).await });
        let seeded = load::count(workers, self.hot_actions, seed).await;
        anyhow::ensure!(seeded.errors == 0, "seeding the hot entity failed {} times", seeded.errors);
        let hot = op(&target, |t, n| async move { t.read_bar_of(HOT_KEY, n).await });

        println!("| run | req/s | p50 ms | p99 ms | p99.9 ms | errors |");
        println!("|---|---|---|---|---|---|");
        let mut runs = Vec::new();
        let scenarios = [
            ("comment", op(&target, |t, n| async move { t.comment(n).await })),
            ("like / unlike", op(&target, |t, n| async move { t.toggle_like(n).await })),
            ("view", op(&target, |t, n| async move { t.view(n).await })),
            ("read action bar", op(&target, |t, n| async move { t.read_bar(n).await })),
            ("read action bar, new entity", fresh),
            ("read action bar, hot entity", hot),
            ("sdk mix", op(&target, |t, n| async move { t.sdk_mix(n).await })),
        ];
        let mut mix_rate = 0.0;
        for (name, scenario) in scenarios {
            if !self.only.is_empty() && !self.only.iter().any(|only| name.contains(only.as_str())) {
                continue;
            }
            load::saturate(workers, warmup, scenario.clone()).await;
            let stats = load::saturate(workers, duration, scenario.clone()).await;
            runs.push(figures(name, &stats));
            if name == "sdk mix" {
                mix_rate = stats.throughput() * self.rate_fraction;
                let fixed = load::fixed_rate(mix_rate, duration, scenario).await;
                runs.push(figures(&format!("sdk mix at {mix_rate:.0}/s"), &fixed));
            }
        }
        Ok(json!({
            "workers": workers,
            "seconds": self.seconds,
            "users": self.population.users,
            "entities": self.population.entities,
            "hot_entity_actions": self.hot_actions,
            "fixed_rate": mix_rate,
            "runs": runs,
        }))
    }
}
