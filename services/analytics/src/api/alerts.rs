//! `/v1/alerts`: rules on a metric, their firings and recoveries, and the announcements sent.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::AppPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::idempotency::{IdempotencyKey, IdempotentRequest};
use chorus_kit::pagination::PageQuery;
use chorus_kit::webhooks::{DeliveryStatus, Retried};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AnalyticsState;
use crate::domain::alerts::{self, Announcer, Condition, Firing, FiringKind, NewRule, Rule, RuleBroadcast};
use crate::domain::model::Metric;
use crate::domain::{AnalyticsError, alerts::AlertDelivery};
use crate::store;

/// A rule to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlertRule {
    /// The metric watched: `actions.likes`, `actions.comments`, `actions.shares`,
    /// `actions.views`, `users.new`, `users.active` or `events.<name>`.
    #[schema(
        pattern = r"^(actions\.(likes|comments|shares|views)|users\.(new|active)|events\.[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$"
    )]
    pub metric: String,
    pub condition: AlertCondition,
    /// What the metric's value over the window is compared with.
    #[schema(minimum = 0)]
    pub threshold: i64,
    /// The trailing window, 900 (15 minutes) to 604,800 (7 days) seconds. It is read from
    /// 15-minute rollups: every quarter it overlaps counts, so it reaches back up to 15 minutes
    /// further.
    #[schema(minimum = 900, maximum = 604800)]
    pub window_seconds: i64,
    /// Receives `alert.fired` and `alert.recovered` as `AlertHookPayload`, signed like
    /// notifications' webhooks (`Chorus-Signature`, with the rule's `secret`). An http or https
    /// URL with a host name, at most 2,048 characters; a target inside the platform's network
    /// (loopback, private, link-local and similar) gets 400. A rule needs a `webhook_url`, a
    /// `broadcast`, or both (else 400).
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = r"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$"
    )]
    pub webhook_url: Option<String>,
    /// A broadcast to the app's users, sent through notifications when the rule fires (not on
    /// recovery).
    pub broadcast: Option<AlertBroadcast>,
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertCondition {
    /// The value over the window reaches the threshold or passes it.
    Above,
    /// The value over the window is under the threshold. No data counts as 0, so a `below`
    /// rule fires on silence.
    Below,
}

/// The broadcast an alert sends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBroadcast {
    /// 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub title: String,
    /// At most 2,000 characters; by default, the metric, its value and the threshold.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*$")]
    pub body: Option<String>,
    /// These users of the app (1 to 100); every user when left out.
    #[schema(min_items = 1, max_items = 100)]
    pub user_ids: Option<Vec<String>>,
}

/// A rule, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertRule {
    pub id: String,
    pub metric: String,
    pub condition: AlertCondition,
    pub threshold: i64,
    pub window_seconds: i64,
    pub webhook_url: Option<String>,
    pub broadcast: Option<AlertBroadcast>,
    /// Whether the condition held at the last evaluation.
    pub firing: bool,
    /// The value at the last evaluation; null before the first.
    pub last_value: Option<i64>,
    /// When the value or the state last changed (rules are evaluated every 15 seconds by
    /// default; an evaluation that changes nothing writes nothing).
    pub evaluated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A new rule, with the secret that signs its webhook (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedAlertRule {
    pub rule: AlertRule,
    /// Verifies `Chorus-Signature` on the rule's webhook calls: the hex HMAC-SHA256, under this
    /// secret, of `"<t>.<body>"`. Derived again when signing, never stored.
    pub secret: String,
}

/// A change of a rule's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertFiring {
    pub id: String,
    pub rule_id: String,
    pub kind: AlertFiringKind,
    /// The value over the window when the state changed.
    pub value: i64,
    pub threshold: i64,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertFiringKind {
    /// The condition started to hold.
    Fired,
    /// It stopped holding.
    Recovered,
}

/// What a rule's webhook receives (JSON, `POST`): the headers `Chorus-Event-Type` (`alert.fired`
/// or `alert.recovered`), `Chorus-Event-Id` (the firing's id), `Chorus-Delivery-Id` and
/// `Chorus-Signature` come with it. Sent at least once: deduplicate on `id`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertHookPayload {
    /// The firing's id.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: AlertHookType,
    pub app_id: String,
    pub occurred_at: DateTime<Utc>,
    pub rule: AlertRule,
    pub firing: AlertFiring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AlertHookType {
    #[serde(rename = "alert.fired")]
    Fired,
    #[serde(rename = "alert.recovered")]
    Recovered,
}

/// One announcement of a firing, with its attempts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertDeliveryView {
    pub id: String,
    pub firing_id: String,
    /// `alert.fired` or `alert.recovered`.
    pub event_type: String,
    pub channel: AlertChannel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertChannel {
    Webhook,
    Broadcast,
}

chorus_kit::list_page!(
    AlertRuleList of AlertRule
);
chorus_kit::list_page!(
    AlertFiringList of AlertFiring
);
chorus_kit::list_page!(
    AlertDeliveryList of AlertDeliveryView
);

impl From<AlertCondition> for Condition {
    fn from(condition: AlertCondition) -> Self {
        match condition {
            AlertCondition::Above => Self::Above,
            AlertCondition::Below => Self::Below,
        }
    }
}

impl From<Condition> for AlertCondition {
    fn from(condition: Condition) -> Self {
        match condition {
            Condition::Above => Self::Above,
            Condition::Below => Self::Below,
        }
    }
}

impl From<AlertBroadcast> for RuleBroadcast {
    fn from(broadcast: AlertBroadcast) -> Self {
        Self { title: broadcast.title, body: broadcast.body, user_ids: broadcast.user_ids }
    }
}

impl From<RuleBroadcast> for AlertBroadcast {
    fn from(broadcast: RuleBroadcast) -> Self {
        Self { title: broadcast.title, body: broadcast.body, user_ids: broadcast.user_ids }
    }
}

impl From<Rule> for AlertRule {
    fn from(rule: Rule) -> Self {
        Self {
            id: rule.id,
            metric: rule.metric,
            condition: rule.condition.into(),
            threshold: rule.threshold,
            window_seconds: rule.window_seconds,
            webhook_url: rule.webhook_url,
            broadcast: rule.broadcast.map(Into::into),
            firing: rule.firing,
            last_value: rule.last_value,
            evaluated_at: rule.evaluated_at,
            created_at: rule.created_at,
        }
    }
}

impl From<Firing> for AlertFiring {
    fn from(firing: Firing) -> Self {
        Self {
            id: firing.id,
            rule_id: firing.rule_id,
            kind: match firing.kind {
                FiringKind::Fired => AlertFiringKind::Fired,
                FiringKind::Recovered => AlertFiringKind::Recovered,
            },
            value: firing.value,
            threshold: firing.threshold,
            occurred_at: firing.occurred_at,
        }
    }
}

impl From<AlertDelivery> for AlertDeliveryView {
    fn from(delivery: AlertDelivery) -> Self {
        Self {
            id: delivery.id,
            firing_id: delivery.firing_id,
            event_type: delivery.event_type,
            channel: match delivery.channel {
                alerts::Channel::Webhook => AlertChannel::Webhook,
                alerts::Channel::Broadcast => AlertChannel::Broadcast,
            },
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
            created_at: delivery.created_at,
            delivered_at: delivery.delivered_at,
        }
    }
}

/// How firings are put into words: the webhook's `AlertHookPayload`, and the broadcast
/// request notifications is sent.
pub fn announcer() -> Announcer {
    Announcer { webhook_payload, broadcast_request }
}

fn webhook_payload(rule: &Rule, firing: &Firing) -> String {
    let payload = AlertHookPayload {
        id: firing.id.clone(),
        event_type: match firing.kind {
            FiringKind::Fired => AlertHookType::Fired,
            FiringKind::Recovered => AlertHookType::Recovered,
        },
        app_id: firing.app_id.clone(),
        occurred_at: firing.occurred_at,
        rule: rule.clone().into(),
        firing: firing.clone().into(),
    };
    // Plain structs of strings, numbers and timestamps always serialize.
    serde_json::to_string(&payload).unwrap_or_default()
}

fn broadcast_request(rule: &Rule, broadcast: &RuleBroadcast, firing: &Firing) -> String {
    let audience = match &broadcast.user_ids {
        Some(user_ids) => serde_json::json!({ "type": "users", "user_ids": user_ids }),
        None => serde_json::json!({ "type": "everyone" }),
    };
    let condition = match rule.condition {
        Condition::Above => "at or above",
        Condition::Below => "below",
    };
    let body = broadcast.body.clone().unwrap_or_else(|| {
        format!(
            "{} is {} over the last {} minutes, {condition} {}.",
            rule.metric,
            firing.value,
            rule.window_seconds / 60,
            rule.threshold
        )
    });
    let body: String = body.chars().take(2_000).collect();
    serde_json::json!({ "app_id": firing.app_id, "title": broadcast.title, "body": body, "audience": audience })
        .to_string()
}

/// Create an alert rule
///
/// A rule on a metric's value over a trailing window, compared with a threshold and evaluated
/// on a schedule (every 15 seconds by default). It fires once when its condition starts to hold,
/// and recovers once when it stops; both are recorded (`GET /v1/alerts/{rule_id}/firings`) and
/// sent to its `webhook_url` as `alert.fired` and `alert.recovered`, and a firing also sends its
/// `broadcast`. No data counts as 0: a `below` rule fires on silence. An app keeps at most 50
/// rules (409 past that). Accepts `Idempotency-Key`: a retried create answers the first rule.
#[utoipa::path(
    post, path = "/v1/alerts", tag = "alerts", operation_id = "create_alert_rule",
    params(chorus_kit::idempotency::IdempotencyKeyHeader),
    request_body = NewAlertRule,
    responses(
        (status = 201, description = "The rule, and its webhook's signing secret", body = CreatedAlertRule),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("app" = []))
)]
pub async fn create_alert_rule(
    app: AppPrincipal,
    db: web::Data<Db>,
    state: web::Data<AnalyticsState>,
    idempotency: IdempotencyKey,
    body: Json<NewAlertRule>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let request = IdempotentRequest::new(idempotency, &format!("app:{}", app.app_id), "create_alert_rule", &body);
    let metric = Metric::parse(&body.metric)
        .ok_or_else(|| Problem::invalid("metric", "must name a metric, such as actions.likes or events.<name>"))?;
    let new = NewRule {
        metric,
        condition: body.condition.into(),
        threshold: body.threshold,
        window_seconds: body.window_seconds,
        webhook_url: body.webhook_url,
        broadcast: body.broadcast.map(Into::into),
    };
    new.validate()?;
    if let Some(url) = &new.webhook_url {
        chorus_kit::outbound::check_target(url, state.allow_private_targets)
            .await
            .map_err(|refused| Problem::invalid("webhook_url", refused.to_string()))?;
    }
    let rule = db
        .write(move |conn| {
            // The stored response is the rule alone; its secret is derived again, never stored.
            request
                .create_once(conn, |conn| Ok::<_, Problem>(AlertRule::from(alerts::create(conn, &app.app_id, &new)?)))
        })
        .await?;
    let secret = state.webhook_key.secret_for(&rule.id);
    Ok(HttpResponse::Created().json(CreatedAlertRule { rule, secret }))
}

/// List the app's alert rules
#[utoipa::path(
    get, path = "/v1/alerts", tag = "alerts", operation_id = "list_alert_rules",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of rules, oldest first", body = AlertRuleList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_alert_rules(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<AlertRuleList>, Problem> {
    let page = query.page()?;
    let (after, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db.read(move |conn| store::alerts::of_app(conn, &app.app_id, after.as_deref(), fetch)).await?;
    let next_cursor = page.finish(&mut items, |rule| rule.id.clone());
    Ok(web::Json(AlertRuleList { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

/// Get an alert rule
#[utoipa::path(
    get, path = "/v1/alerts/{rule_id}", tag = "alerts", operation_id = "get_alert_rule",
    params(("rule_id" = String, Path)),
    responses(
        (status = 200, description = "The rule, with its state", body = AlertRule),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn get_alert_rule(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<AlertRule>, Problem> {
    let id = path.into_inner();
    let rule = db.read(move |conn| store::alerts::find(conn, &app.app_id, &id)).await?;
    Ok(web::Json(rule.ok_or(AnalyticsError::RuleNotFound)?.into()))
}

/// Delete an alert rule
///
/// Its firings and pending announcements go with it.
#[utoipa::path(
    delete, path = "/v1/alerts/{rule_id}", tag = "alerts", operation_id = "delete_alert_rule",
    params(("rule_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn delete_alert_rule(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    if !db.write(move |conn| store::alerts::delete(conn, &app.app_id, &id)).await? {
        return Err(AnalyticsError::RuleNotFound.into());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// List the app's recent firings
///
/// Every rule's firings and recoveries, newest first.
#[utoipa::path(
    get, path = "/v1/alerts/firings", tag = "alerts", operation_id = "list_alert_firings",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of firings, newest first", body = AlertFiringList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_alert_firings(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<AlertFiringList>, Problem> {
    firings(app, db, None, query.into_inner()).await
}

/// List a rule's firings
///
/// The rule's firings and recoveries, newest first.
#[utoipa::path(
    get, path = "/v1/alerts/{rule_id}/firings", tag = "alerts", operation_id = "list_rule_firings",
    params(("rule_id" = String, Path), PageQuery),
    responses(
        (status = 200, description = "A page of firings, newest first", body = AlertFiringList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn list_rule_firings(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<web::Json<AlertFiringList>, Problem> {
    firings(app, db, Some(path.into_inner()), query.into_inner()).await
}

async fn firings(
    app: AppPrincipal,
    db: web::Data<Db>,
    rule_id: Option<String>,
    query: PageQuery,
) -> Result<web::Json<AlertFiringList>, Problem> {
    let page = query.page()?;
    let (before, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db
        .read(move |conn| {
            if let Some(rule_id) = &rule_id {
                store::alerts::find(conn, &app.app_id, rule_id)?.ok_or(AnalyticsError::RuleNotFound)?;
            }
            Ok::<_, AnalyticsError>(store::alerts::firings(
                conn,
                &app.app_id,
                rule_id.as_deref(),
                before.as_deref(),
                fetch,
            )?)
        })
        .await?;
    let next_cursor = page.finish(&mut items, |firing| firing.id.clone());
    Ok(web::Json(AlertFiringList { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

/// List a rule's deliveries
///
/// The announcements of the rule's firings (webhook calls and broadcasts), newest first, with
/// their attempts.
#[utoipa::path(
    get, path = "/v1/alerts/{rule_id}/deliveries", tag = "alerts", operation_id = "list_alert_deliveries",
    params(("rule_id" = String, Path), PageQuery),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = AlertDeliveryList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn list_alert_deliveries(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<web::Json<AlertDeliveryList>, Problem> {
    let page = query.page()?;
    let (rule_id, before, fetch) = (path.into_inner(), page.after.clone(), page.fetch_limit());
    let mut items = db
        .read(move |conn| {
            store::alerts::find(conn, &app.app_id, &rule_id)?.ok_or(AnalyticsError::RuleNotFound)?;
            Ok::<_, AnalyticsError>(store::alerts::deliveries(conn, &app.app_id, &rule_id, before.as_deref(), fetch)?)
        })
        .await?;
    let next_cursor = page.finish(&mut items, |delivery| delivery.id.clone());
    Ok(web::Json(AlertDeliveryList { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

/// Retry a dead delivery
///
/// Queues a dead announcement again, with a fresh set of attempts (409 unless it is dead).
#[utoipa::path(
    post, path = "/v1/alerts/deliveries/{delivery_id}/retry", tag = "alerts", operation_id = "retry_alert_delivery",
    params(("delivery_id" = String, Path)),
    responses(
        (status = 202, description = "Queued again"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("app" = []))
)]
pub async fn retry_alert_delivery(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    db.write(move |conn| match store::alerts::retry(conn, &app.app_id, &id)? {
        Retried::Queued => Ok(()),
        Retried::NotDead => Err(AnalyticsError::DeliveryNotDead),
        Retried::NotFound => Err(AnalyticsError::DeliveryNotFound),
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
