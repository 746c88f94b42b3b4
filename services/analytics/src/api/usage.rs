//! `GET /v1/usage/operations/{operation_id}/consumers`: who would a change hit?

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::OperatorPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chorus_kit::pagination::PageQuery;
use chrono::{Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AnalyticsState;
use crate::store;

/// A Chorus service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    Users,
    Actions,
    Notifications,
    Analytics,
}

impl ServiceName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Actions => "actions",
            Self::Notifications => "notifications",
            Self::Analytics => "analytics",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsumerParams {
    /// From this day on (UTC, `YYYY-MM-DD`); default: the last 30 days.
    pub since: Option<NaiveDate>,
    /// Only this service's operation. Operation ids are unique across the services, except the
    /// ones every service serves (`list_events`, `stream_events`, `get_usage`): without
    /// `service`, their calls at every service add up.
    pub service: Option<ServiceName>,
}

/// One app that called the operation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OperationConsumer {
    pub app_id: String,
    /// Its calls since the day asked.
    #[schema(minimum = 1)]
    pub calls: i64,
    /// The last day (UTC) it called.
    pub last_seen: NaiveDate,
}

chorus_kit::list_page!(
    /// The apps that called an operation, by app id.
    OperationConsumers of OperationConsumer
);

/// Who calls an operation
///
/// The apps that called an operation since a day, with their calls and the last day they
/// called: the customers a deprecation or a breaking change of that operation must reach.
/// Counts come from every service's `GET /v1/usage`, gathered as the question is asked (a
/// service that cannot be reached answers with what was gathered before). Operator only.
#[utoipa::path(
    get, path = "/v1/usage/operations/{operation_id}/consumers", tag = "usage", operation_id = "list_operation_consumers",
    params(
        ("operation_id" = String, Path, description = "An operation id of any Chorus spec, such as `like`."),
        ConsumerParams,
        PageQuery,
    ),
    responses(
        (status = 200, description = "The apps that called it, by app id", body = OperationConsumers),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("operator" = []))
)]
pub async fn list_operation_consumers(
    _operator: OperatorPrincipal,
    db: web::Data<Db>,
    state: web::Data<AnalyticsState>,
    path: web::Path<String>,
    params: Query<ConsumerParams>,
    page: Query<PageQuery>,
) -> Result<web::Json<OperationConsumers>, Problem> {
    let page = page.page()?;
    state.peers.refresh(&db).await?;
    let operation = path.into_inner();
    let since = params.since.unwrap_or_else(|| Utc::now().date_naive() - Days::new(30)).to_string();
    let service = params.service.map(ServiceName::as_str);
    let (after, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db
        .read(move |conn| store::usage::consumers(conn, &operation, service, &since, after.as_deref(), fetch))
        .await?;
    let next_cursor = page.finish(&mut items, |consumer| consumer.app_id.clone());
    let items = items
        .into_iter()
        .map(|consumer| OperationConsumer {
            last_seen: consumer.last_day.parse().unwrap_or_default(),
            app_id: consumer.app_id,
            calls: consumer.calls,
        })
        .collect();
    Ok(web::Json(OperationConsumers { items, next_cursor }))
}
