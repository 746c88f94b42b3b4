//! Every metric that the shipped dashboards (`deploy/grafana/dashboards`) and alert rules
//! (`deploy/prometheus/alerts.yml`) name is one the services export, read from their `/metrics`
//! on a running platform: a renamed metric cannot leave a dashboard blank or an alert silent.

use std::collections::BTreeSet;
use std::path::Path;

use chorus::{Options, Platform};
use chorus_kit::testing::eventually;

/// The `chorus_…` metric names in `text`.
fn named_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("chorus_") {
        let name: String = rest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        rest = &rest[at + name.len()..];
        // `chorus-…` job names and the like are not metrics; these are.
        names.insert(name);
    }
    names
}

/// The metric names in a `/metrics` answer, histogram series under their own names too.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_metric_a_dashboard_or_alert_names_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path());
    options.any_port = true;
    let platform = Platform::start(options).await.unwrap();
    let http = reqwest::Client::new();
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let mut wanted = named_in(&std::fs::read_to_string(deploy.join("prometheus/alerts.yml")).unwrap());
    for entry in std::fs::read_dir(deploy.join("grafana/dashboards")).unwrap() {
        wanted.extend(named_in(&std::fs::read_to_string(entry.unwrap().path()).unwrap()));
    }
    assert!(wanted.len() >= 8, "the dashboards name the platform's metrics: {wanted:?}");

    let services = platform.services();
    // Each service has served a request (and the consumers started their followers).
    let mut all = BTreeSet::new();
    eventually("every service exports its series", async || {
        all.clear();
        for (_, url) in &services {
            let _ = http.get(format!("{url}/v1/nothing-here")).send().await;
            let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
            all.extend(exported(&text));
        }
        wanted.iter().all(|name| all.contains(name))
    })
    .await;
    let missing: Vec<&String> = wanted.iter().filter(|name| !all.contains(*name)).collect();
    assert!(missing.is_empty(), "named but not exported: {missing:?}");
    platform.stop().await;
}
