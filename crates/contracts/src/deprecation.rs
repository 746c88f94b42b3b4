//! `cargo xtask deprecation-report <service> <operation_id>`: the apps that still call an
//! operation, next to its deprecation and sunset dates, so they can be told in time. The
//! deprecation comes from the service's own list (the one its spec and headers follow); the
//! callers from analytics (`GET /v1/usage/operations/{operation_id}/consumers`, operator only).

use anyhow::{Context, bail};
use chorus_kit::Service;
use chorus_kit::lifecycle::Deprecation;

use crate::openapi::{contracts, workspace_root};

/// Where analytics is, and the operator token.
pub struct Source {
    pub analytics_url: String,
    pub operator_token: Option<String>,
    /// From this day on (`YYYY-MM-DD`); analytics' default (30 days) when absent.
    pub since: Option<String>,
}

pub fn run(service: &str, operation: &str, source: Source) -> anyhow::Result<()> {
    let Some(contract) = contracts().into_iter().find(|contract| contract.service == service) else {
        bail!("no service is named `{service}` (users, actions, notifications or analytics)");
    };
    let spec: serde_json::Value = serde_json::from_str(&contract.text)?;
    if !operation_ids(&spec).iter().any(|id| id == operation) {
        bail!("{service} has no operation `{operation}`");
    }
    let token = match source.operator_token {
        Some(token) => token,
        None => launcher_operator_token().context("set CHORUS_OPERATOR_TOKEN or pass --operator-token")?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let consumers = runtime.block_on(consumers(&source.analytics_url, &token, service, operation, source.since))?;
    print!("{}", report(service, operation, deprecation_of(service, operation), &consumers));
    Ok(())
}

/// Every operation id of a spec.
fn operation_ids(spec: &serde_json::Value) -> Vec<String> {
    let paths = spec["paths"].as_object().into_iter().flat_map(|paths| paths.values());
    paths
        .flat_map(|item| item.as_object().into_iter().flat_map(|item| item.values()))
        .filter_map(|operation| operation["operationId"].as_str().map(str::to_owned))
        .collect()
}

fn deprecation_of(service: &str, operation: &str) -> Option<&'static Deprecation> {
    let list = match service {
        "users" => chorus_users::Users::deprecations(),
        "actions" => chorus_actions::Actions::deprecations(),
        "notifications" => chorus_notifications::Notifications::deprecations(),
        "analytics" => chorus_analytics::Analytics::deprecations(),
        _ => &[],
    };
    list.iter().find(|deprecation| deprecation.operation_id == operation)
}

/// The operator token the launcher keeps, when it ran here.
fn launcher_operator_token() -> anyhow::Result<String> {
    let path = workspace_root().join(".chorus/credentials.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let credentials: chorus::Credentials = serde_json::from_str(&text)?;
    Ok(credentials.operator_token)
}

/// One app that called the operation: (app id, calls, last day).
type Consumer = (String, i64, String);

async fn consumers(
    url: &str,
    token: &str,
    service: &str,
    operation: &str,
    since: Option<String>,
) -> anyhow::Result<Vec<Consumer>> {
    use analytics_client::types::ServiceName;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    let analytics = analytics_client::Client::new_with_client(url, http, analytics_client::Propagation::none());
    let service: ServiceName = service.parse().map_err(|_| anyhow::anyhow!("`{service}` is no service"))?;
    let since = since.map(|day| day.parse::<chrono::NaiveDate>()).transpose().context("--since is YYYY-MM-DD")?;
    let (mut all, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut request = analytics.list_operation_consumers().operation_id(operation).service(service).limit(100);
        if let Some(since) = since {
            request = request.since(since);
        }
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.clone());
        }
        let page = request.send().await.with_context(|| format!("asking analytics at {url}"))?.into_inner();
        let calls = |calls: std::num::NonZeroU64| i64::try_from(calls.get()).unwrap_or(i64::MAX);
        all.extend(page.items.into_iter().map(|item| (item.app_id, calls(item.calls), item.last_seen.to_string())));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// The report, as printed.
fn report(service: &str, operation: &str, deprecation: Option<&Deprecation>, consumers: &[Consumer]) -> String {
    let mut text = match deprecation {
        Some(d) => format!(
            "{service} `{operation}`: deprecated since {}, sunset {} (after it, it may be removed)\n  what to use instead: {}\n",
            d.since, d.sunset, d.link
        ),
        None => format!("{service} `{operation}`: not deprecated\n"),
    };
    if consumers.is_empty() {
        text.push_str("No app called it in the period.\n");
        return text;
    }
    let advice = if deprecation.is_some() { "; tell them before the sunset" } else { "" };
    text.push_str(&format!("{} app(s) called it{advice}:\n", consumers.len()));
    text.push_str(&format!("  {:<40} {:>10}  {}\n", "APP ID", "CALLS", "LAST SEEN"));
    for (app_id, calls, last_seen) in consumers {
        text.push_str(&format!("  {app_id:<40} {calls:>10}  {last_seen}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_sunset_and_every_caller() {
        let deprecation = Deprecation {
            operation_id: "like",
            since: "2026-12-01",
            sunset: "2027-06-01",
            link: "https://chorus.dev/docs/likes-v2",
        };
        let callers = vec![("app-1".to_owned(), 42, "2026-11-30".to_owned())];
        let text = report("actions", "like", Some(&deprecation), &callers);
        assert!(text.contains("sunset 2027-06-01") && text.contains("likes-v2"), "{text}");
        assert!(text.lines().any(|line| line.contains("app-1") && line.contains("42") && line.ends_with("2026-11-30")));
        assert!(report("actions", "like", None, &[]).contains("not deprecated\nNo app called it"));
    }

    #[test]
    fn operations_are_looked_up_in_the_published_spec() {
        let actions = contracts().into_iter().find(|contract| contract.service == "actions").unwrap();
        let ids = operation_ids(&serde_json::from_str(&actions.text).unwrap());
        assert!(ids.iter().any(|id| id == "like") && ids.iter().any(|id| id == "get_usage"));
    }
}
