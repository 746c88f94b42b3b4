//! The HTTP face of the analytics service: handlers parse, authorize, call the domain and map
//! the result. The wire types (`model`) and the utoipa annotations here are the published
//! contract; they convert to and from the domain's plain types.

mod alerts;
mod dashboard;
mod ingest;
mod leaderboards;
mod metrics;
pub mod model;
mod rollups;
mod usage;

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::docs::Conventions;
use chorus_kit::rate_limit::OperationClass;

use crate::domain::AnalyticsError;

/// Shared state of the analytics handlers.
pub struct AnalyticsState {
    /// Days raw events are kept (`raw_events.retention_days`).
    pub retention_days: u32,
    /// What alert webhooks' secrets are derived from.
    pub webhook_key: chorus_kit::webhooks::WebhookKey,
    /// Whether alert webhooks may target private addresses (`webhooks.allow_private_targets`).
    pub allow_private_targets: bool,
    /// The services whose API usage is gathered.
    pub peers: std::sync::Arc<crate::domain::usage::Peers>,
    /// Writes ingested batches in groups.
    pub writer: crate::domain::ingest::IngestWriter,
    /// The other services, for the dashboard's sign-in.
    pub upstream: std::sync::Arc<chorus_upstream::Upstream>,
}

pub use alerts::announcer;

pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<AnalyticsState>) {
    cfg.app_data(state)
        .service(
            web::resource("/v1/events:batch")
                // Ingestion spends its own budget, so a chatty SDK cannot starve the app's reads.
                .app_data(OperationClass::Ingest)
                .route(web::post().to(ingest::ingest_events)),
        )
        .route("/v1/metrics/{metric}", web::get().to(metrics::get_metric))
        .route("/v1/leaderboards/entities", web::get().to(leaderboards::top_entities))
        .route("/v1/leaderboards/users", web::get().to(leaderboards::top_users))
        .route("/v1/rollups:rebuild", web::post().to(rollups::rebuild_rollups))
        .route("/v1/usage/operations/{operation_id}/consumers", web::get().to(usage::list_operation_consumers))
        .route("/v1/alerts", web::post().to(alerts::create_alert_rule))
        .route("/v1/alerts", web::get().to(alerts::list_alert_rules))
        .route("/v1/alerts/firings", web::get().to(alerts::list_alert_firings))
        .route("/v1/alerts/deliveries/{delivery_id}/retry", web::post().to(alerts::retry_alert_delivery))
        .route("/v1/alerts/{rule_id}", web::get().to(alerts::get_alert_rule))
        .route("/v1/alerts/{rule_id}", web::delete().to(alerts::delete_alert_rule))
        .route("/v1/alerts/{rule_id}/firings", web::get().to(alerts::list_rule_firings))
        .route("/v1/alerts/{rule_id}/deliveries", web::get().to(alerts::list_alert_deliveries))
        .configure(dashboard::configure);
}

/// The app whose analytics a caller reads: an app token reads its own; the operator reads the
/// app it names, or the whole platform (`None`).
fn app_scope(principal: &Principal, asked: Option<String>) -> Result<Option<String>, Problem> {
    match principal {
        Principal::App { app_id } => match asked {
            Some(other) if &other != app_id => Err(Problem::forbidden("an app reads only its own analytics")),
            _ => Ok(Some(app_id.clone())),
        },
        Principal::Operator => Ok(asked),
        _ => Err(Problem::forbidden("analytics are read with an app token or the operator token")),
    }
}

/// The one app a ranking is of: entity keys and user ids are an app's own, so the operator
/// names the app (400 otherwise).
fn one_app(app_id: Option<String>) -> Result<String, Problem> {
    app_id
        .ok_or_else(|| Problem::invalid("app_id", "the operator names the app: entity keys and users are an app's own"))
}

/// A `limit` of 1 to 100, 10 when absent.
fn limit(asked: Option<i64>) -> Result<i64, Problem> {
    match asked {
        None => Ok(10),
        Some(limit) if (1..=crate::domain::leaderboards::MAX_LEADERS).contains(&limit) => Ok(limit),
        Some(_) => Err(Problem::invalid("limit", "must be between 1 and 100")),
    }
}

impl From<AnalyticsError> for Problem {
    fn from(error: AnalyticsError) -> Self {
        match error {
            AnalyticsError::Invalid { field, message } => Problem::invalid(field, message),
            AnalyticsError::RuleNotFound | AnalyticsError::DeliveryNotFound => Problem::not_found(error.to_string()),
            AnalyticsError::DeliveryNotDead | AnalyticsError::TooManyRules { .. } => {
                Problem::conflict(error.to_string())
            }
            AnalyticsError::Corrupt(corrupt) => Problem::internal(&corrupt),
            AnalyticsError::Db(db) => Problem::from(db),
        }
    }
}

/// The published contract of the analytics service.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Chorus analytics",
        description = "What happens on the platform, as numbers an app can query: custom events ingested \
            from SDKs, and the likes, comments, shares, views and new users of the actions and users \
            feeds, rolled up in 15-minute buckets so that a day in any time zone is exact. Metric \
            queries read only rollups."
    ),
    paths(
        ingest::ingest_events,
        metrics::get_metric,
        leaderboards::top_entities,
        leaderboards::top_users,
        alerts::create_alert_rule,
        alerts::list_alert_rules,
        alerts::get_alert_rule,
        alerts::delete_alert_rule,
        alerts::list_alert_firings,
        alerts::list_rule_firings,
        alerts::list_alert_deliveries,
        alerts::retry_alert_delivery,
        usage::list_operation_consumers,
        rollups::rebuild_rollups
    ),
    components(schemas(model::MetricGrouping, alerts::AlertHookPayload, usage::ServiceName)),
    modifiers(&Conventions),
    tags(
        (name = "ingestion", description = "Custom events from SDKs"),
        (name = "metrics", description = "Metric queries over any range, interval and time zone"),
        (name = "leaderboards", description = "The top entities and the most active users of a range"),
        (name = "alerts", description = "Rules on a metric, their firings, and the announcements sent"),
        (name = "usage", description = "Which apps call which operation: who a change would hit"),
        (name = "operations", description = "The operator's tools"),
    )
)]
pub struct ApiDoc;
