//! Alerts: rules on a metric over a trailing window, compared with a threshold, evaluated on a
//! schedule. A rule fires once when its condition starts to hold and recovers once when it stops;
//! both are recorded, and announced at least once to the rule's channels (a signed webhook, and
//! on firing a broadcast to the app's users through notifications).
//!
//! The window is read from the 15-minute rollups: it covers every quarter that overlaps the last
//! `window_seconds`, so it reaches back up to 15 minutes further. No data counts as zero, so a
//! `below` rule fires on silence.

use std::future::Future;
use std::time::Duration;

use chorus_kit::db::{Db, DbConnection};
use chorus_kit::shutdown::Shutdown;
use chorus_kit::validation::{self, Invalid};
use chorus_kit::webhooks::DeliveryStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AnalyticsError;
use super::model::Metric;
use super::time::{QUARTER, Span, bucket};
use crate::store;
use crate::store::alerts::NewDelivery;

/// Rules an app may keep.
pub const MAX_RULES_PER_APP: i64 = 50;
/// The shortest and longest window, in seconds (15 minutes, 7 days).
pub const WINDOW_SECONDS: std::ops::RangeInclusive<i64> = 900..=604_800;
/// The event types a rule's webhook receives.
pub const ALERT_FIRED: &str = "alert.fired";
pub const ALERT_RECOVERED: &str = "alert.recovered";
const MAX_URL: usize = 2_048;
const PAGE: i64 = 500;

/// When a rule's condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The value reaches the threshold or passes it.
    Above,
    /// The value is under the threshold (no data is zero).
    Below,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "below" { Self::Below } else { Self::Above }
    }

    pub fn holds(self, value: i64, threshold: i64) -> bool {
        match self {
            Self::Above => value >= threshold,
            Self::Below => value < threshold,
        }
    }
}

/// The broadcast a rule sends through notifications when it fires: to these users of the app,
/// or to every user when none are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleBroadcast {
    pub title: String,
    pub body: Option<String>,
    pub user_ids: Option<Vec<String>>,
}

/// A rule to create.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub metric: Metric,
    pub condition: Condition,
    pub threshold: i64,
    pub window_seconds: i64,
    pub webhook_url: Option<String>,
    pub broadcast: Option<RuleBroadcast>,
}

impl NewRule {
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        if self.threshold < 0 {
            return Err(Invalid::new("threshold", "must be at least 0").into());
        }
        if !WINDOW_SECONDS.contains(&self.window_seconds) {
            return Err(Invalid::new("window_seconds", "must be between 900 (15 minutes) and 604800 (7 days)").into());
        }
        if let Some(url) = &self.webhook_url {
            validation::http_url("webhook_url", url, MAX_URL)?;
        }
        if let Some(broadcast) = &self.broadcast {
            validation::text("broadcast.title", &broadcast.title, 200)?;
            if let Some(body) = &broadcast.body {
                validation::max_chars("broadcast.body", body, 2_000)?;
            }
            if broadcast.user_ids.as_ref().is_some_and(|ids| ids.is_empty() || ids.len() > 100) {
                return Err(Invalid::new("broadcast.user_ids", "must list 1 to 100 users, or be left out").into());
            }
        }
        if self.webhook_url.is_none() && self.broadcast.is_none() {
            return Err(Invalid::new("webhook_url", "a rule needs a webhook_url, a broadcast, or both").into());
        }
        Ok(())
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub app_id: String,
    pub metric: String,
    pub condition: Condition,
    pub threshold: i64,
    pub window_seconds: i64,
    pub webhook_url: Option<String>,
    pub broadcast: Option<RuleBroadcast>,
    /// Whether the condition held at the last evaluation.
    pub firing: bool,
    pub last_value: Option<i64>,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiringKind {
    Fired,
    Recovered,
}

impl FiringKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Recovered => "recovered",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "recovered" { Self::Recovered } else { Self::Fired }
    }

    pub fn event_type(self) -> &'static str {
        match self {
            Self::Fired => ALERT_FIRED,
            Self::Recovered => ALERT_RECOVERED,
        }
    }
}

/// A rule's change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub id: String,
    pub rule_id: String,
    pub app_id: String,
    pub kind: FiringKind,
    /// The value over the window that changed the state.
    pub value: i64,
    pub threshold: i64,
    pub occurred_at: DateTime<Utc>,
}

/// Where an announcement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Broadcast,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Broadcast => "broadcast",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "broadcast" { Self::Broadcast } else { Self::Webhook }
    }
}

/// One announcement, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDelivery {
    pub id: String,
    pub rule_id: String,
    pub firing_id: String,
    pub event_type: String,
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How firings are put into words: the published payload of a rule's webhook, and the body of
/// its broadcast. The API layer provides it, since those shapes are part of the contract.
#[derive(Clone, Copy)]
pub struct Announcer {
    pub webhook_payload: fn(&Rule, &Firing) -> String,
    /// The broadcast request notifications is sent, as JSON.
    pub broadcast_request: fn(&Rule, &RuleBroadcast, &Firing) -> String,
}

/// A new, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn create(conn: &mut DbConnection, app_id: &str, new: &NewRule) -> Result<Rule, AnalyticsError> {
    new.validate()?;
    store::alerts::lock_app_rules(conn, app_id)?;
    if store::alerts::count_of_app(conn, app_id)? >= MAX_RULES_PER_APP {
        return Err(AnalyticsError::TooManyRules { max: MAX_RULES_PER_APP });
    }
    let rule = Rule {
        id: new_id(),
        app_id: app_id.to_owned(),
        metric: new.metric.key(),
        condition: new.condition,
        threshold: new.threshold,
        window_seconds: new.window_seconds,
        webhook_url: new.webhook_url.clone(),
        broadcast: new.broadcast.clone(),
        firing: false,
        last_value: None,
        evaluated_at: None,
        created_at: chorus_kit::db::now().and_utc(),
    };
    Ok(store::alerts::insert(conn, &rule)?)
}

/// The quarters a window read at `now` covers: every one overlapping the last `window_seconds`.
pub fn window(now: DateTime<Utc>, window_seconds: i64) -> Span {
    let end = bucket(now.timestamp(), QUARTER) + QUARTER;
    Span { start: bucket(now.timestamp() - window_seconds, QUARTER), end }
}

/// Evaluates every rule at `now`; answers the firings and recoveries it recorded.
pub async fn evaluate_all(db: &Db, announcer: Announcer, now: DateTime<Utc>) -> Result<Vec<Firing>, AnalyticsError> {
    let mut changes = Vec::new();
    let mut after = String::new();
    loop {
        let cursor = after.clone();
        let rules = db.read(move |conn| store::alerts::page(conn, &cursor, PAGE)).await?;
        let Some(last) = rules.last() else { break };
        after = last.id.clone();
        for rule in rules {
            if let Some(firing) = evaluate(db, announcer, rule, now).await? {
                changes.push(firing);
            }
        }
    }
    Ok(changes)
}

/// Evaluates one rule: reads its window, and on a change of state records it and queues its
/// announcements, in one transaction. Another evaluator (a replica) that changed the state first
/// wins, and this one records nothing. A rule whose value and state did not change is not
/// written at all, so an idle platform's evaluations cost reads only.
async fn evaluate(
    db: &Db,
    announcer: Announcer,
    rule: Rule,
    now: DateTime<Utc>,
) -> Result<Option<Firing>, AnalyticsError> {
    let Some(metric) = Metric::parse(&rule.metric) else { return Ok(None) };
    let (app_id, span) = (rule.app_id.clone(), window(now, rule.window_seconds));
    let value = db.read(move |conn| super::metrics::window_value(conn, &app_id, &metric, span)).await?;
    let holds = rule.condition.holds(value, rule.threshold);
    if holds == rule.firing && rule.last_value == Some(value) {
        return Ok(None);
    }
    db.write(move |conn| {
        let at = now.naive_utc();
        if !store::alerts::evaluated(conn, &rule.id, rule.firing, holds, value, at)? || holds == rule.firing {
            return Ok(None);
        }
        let firing = Firing {
            id: new_id(),
            rule_id: rule.id.clone(),
            app_id: rule.app_id.clone(),
            kind: if holds { FiringKind::Fired } else { FiringKind::Recovered },
            value,
            threshold: rule.threshold,
            occurred_at: now,
        };
        store::alerts::insert_firing(conn, &firing)?;
        announce(conn, announcer, &rule, &firing)?;
        Ok(Some(firing))
    })
    .await
}

/// Queues a firing's announcements: the webhook hears of firings and recoveries; a broadcast
/// goes out on firing only.
fn announce(conn: &mut DbConnection, announcer: Announcer, rule: &Rule, firing: &Firing) -> Result<(), AnalyticsError> {
    let event_type = firing.kind.event_type();
    if let Some(url) = &rule.webhook_url {
        let payload = (announcer.webhook_payload)(rule, firing);
        let id = new_id();
        let new =
            NewDelivery { id: &id, firing, event_type, channel: Channel::Webhook, url: Some(url), payload: &payload };
        store::alerts::enqueue(conn, &new)?;
    }
    if let (Some(broadcast), FiringKind::Fired) = (&rule.broadcast, firing.kind) {
        let payload = (announcer.broadcast_request)(rule, broadcast, firing);
        let id = new_id();
        let new =
            NewDelivery { id: &id, firing, event_type, channel: Channel::Broadcast, url: None, payload: &payload };
        store::alerts::enqueue(conn, &new)?;
    }
    Ok(())
}

/// Evaluates every rule each `every` until shutdown.
pub async fn run(db: Db, announcer: Announcer, every: Duration, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.fired() => return,
        }
        match evaluate_all(&db, announcer, Utc::now()).await {
            Ok(changes) => {
                for change in changes {
                    tracing::info!(rule_id = %change.rule_id, kind = change.kind.as_str(), value = change.value, "alert");
                }
            }
            Err(error) => tracing::warn!(%error, "evaluating alert rules failed; trying again next tick"),
        }
    }
}

/// Sends queued broadcasts with `send` (a call to notifications with the delivery's request and
/// its id as the idempotency key, so a retry never sends twice) until shutdown.
pub async fn dispatch_broadcasts<S, F>(
    db: Db,
    policy: chorus_kit::webhooks::DeliveryPolicy,
    metrics: std::sync::Arc<chorus_kit::metrics::Metrics>,
    shutdown: Shutdown,
    send: S,
) where
    S: Fn(chorus_kit::webhooks::Claimed) -> F,
    F: Future<Output = chorus_kit::webhooks::Sent>,
{
    let queue = chorus_kit::webhooks::DeliveryQueue::new(
        "alert broadcast",
        metrics,
        store::alerts::claim_due_broadcasts,
        store::alerts::record_attempt,
    );
    chorus_kit::webhooks::dispatch(db, queue, policy, shutdown, send).await;
}

/// Sends queued webhooks, signed with each rule's secret, until shutdown.
pub async fn dispatch_webhooks(
    db: Db,
    key: chorus_kit::webhooks::WebhookKey,
    policy: chorus_kit::webhooks::DeliveryPolicy,
    metrics: std::sync::Arc<chorus_kit::metrics::Metrics>,
    shutdown: Shutdown,
) {
    let queue = chorus_kit::webhooks::DeliveryQueue::new(
        "alert webhook",
        metrics,
        store::alerts::claim_due_webhooks,
        store::alerts::record_attempt,
    );
    chorus_kit::webhooks::dispatch_webhooks(db, queue, key, policy, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn above_means_at_or_past_and_below_means_under() {
        assert!(Condition::Above.holds(1, 1) && Condition::Above.holds(2, 1) && !Condition::Above.holds(0, 1));
        assert!(Condition::Below.holds(0, 1) && !Condition::Below.holds(1, 1));
    }

    #[test]
    fn a_window_covers_every_quarter_it_overlaps() {
        let now = DateTime::from_timestamp(10 * QUARTER + 100, 0).unwrap();
        assert_eq!(window(now, 900), Span { start: 9 * QUARTER, end: 11 * QUARTER });
        assert_eq!(window(now, 3_600), Span { start: 6 * QUARTER, end: 11 * QUARTER });
    }

    #[test]
    fn a_rule_needs_a_channel_and_sane_bounds() {
        let rule = NewRule {
            metric: Metric::Likes,
            condition: Condition::Above,
            threshold: 1,
            window_seconds: 900,
            webhook_url: Some("https://example.com/hook".into()),
            broadcast: None,
        };
        assert!(rule.validate().is_ok());
        let silent = NewRule { webhook_url: None, ..rule.clone() };
        assert!(matches!(silent.validate(), Err(AnalyticsError::Invalid { field: "webhook_url", .. })));
        let short = NewRule { window_seconds: 60, ..rule.clone() };
        assert!(matches!(short.validate(), Err(AnalyticsError::Invalid { field: "window_seconds", .. })));
        let negative = NewRule { threshold: -1, ..rule };
        assert!(matches!(negative.validate(), Err(AnalyticsError::Invalid { field: "threshold", .. })));
    }
}
