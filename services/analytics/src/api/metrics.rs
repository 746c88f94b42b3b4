//! `GET /v1/metrics/{metric}`: a metric's values over a range, from the rollups.

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{MetricGroup, MetricGrouping, MetricInterval, MetricMode, MetricSeries, TimeZoneName};
use crate::domain::leaderboards;
use crate::domain::metrics::{self, MetricQuery};
use crate::domain::model::Metric;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricParams {
    /// The range's start (RFC 3339); the first point is the interval holding it.
    pub from: DateTime<Utc>,
    /// The range's end (RFC 3339), not before `from` (else 400); the last point is the interval
    /// holding the instant before it (or `from`'s, when they are equal). A range holds at most
    /// 1,000 intervals (else 400).
    pub to: DateTime<Utc>,
    /// The width of each point (default `day`).
    pub interval: Option<MetricInterval>,
    /// Per interval, or cumulative from the range's start (default `per_interval`).
    pub mode: Option<MetricMode>,
    /// The IANA time zone whose days, weeks (from Monday, ISO 8601) and months the intervals
    /// follow (default `UTC`). A day across a DST change is one interval of 23 or 25 hours.
    #[param(value_type = Option<TimeZoneName>)]
    pub tz: Option<String>,
    /// Group the points by this dimension: one series per group, for the top `limit` groups
    /// over the range (not for `users.active`, a distinct count: 400). The operator names the
    /// app to group (400 otherwise).
    pub group_by: Option<MetricGrouping>,
    /// With `group_by`: how many groups, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The app, for the operator (without it, the whole platform's numbers); an app token
    /// reads only its own.
    #[param(min_length = 1, max_length = 64)]
    pub app_id: Option<String>,
}

/// Read a metric
///
/// The metric's value per interval over a range, answered from rollups (never from raw
/// events): `actions.likes`, `actions.comments`, `actions.shares` and `actions.views` (made in
/// the interval; withdrawn ones are not subtracted), `users.new`, `users.active` (distinct
/// users who liked, commented, shared, joined or sent an event naming them in the interval, a
/// view naming no one; exact up to 128, past that a HyperLogLog estimate within 0.81%, one
/// standard error), and `events.<name>` for each custom event name. Every interval of the range has a point; one without data is 0. Needs an app
/// token (its own app) or the operator (the app named by `app_id`, or the whole platform).
#[utoipa::path(
    get, path = "/v1/metrics/{metric}", tag = "metrics", operation_id = "get_metric",
    params(
        ("metric" = String, Path, pattern = r"^(actions\.(likes|comments|shares|views)|users\.(new|active)|events\.[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$",
            description = "The metric: `actions.likes`, `actions.comments`, `actions.shares`, `actions.views`, `users.new`, `users.active` or `events.<name>`."),
        MetricParams,
    ),
    responses(
        (status = 200, description = "One point per interval", body = MetricSeries),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn get_metric(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<MetricParams>,
) -> Result<web::Json<MetricSeries>, Problem> {
    let params = query.into_inner();
    let app_id = super::app_scope(&principal, params.app_id)?;
    let key = path.into_inner();
    let metric = Metric::parse(&key).ok_or_else(|| Problem::not_found(format!("no metric is named `{key}`")))?;
    let tz_name = params.tz.unwrap_or_else(|| "UTC".to_owned());
    let tz = TimeZoneName::parse(&tz_name)
        .ok_or_else(|| Problem::invalid("tz", "must be an IANA time zone name, such as Europe/Berlin"))?;
    let (interval, mode) = (params.interval.unwrap_or_default(), params.mode.unwrap_or_default());
    let query = MetricQuery {
        app_id,
        metric,
        from: params.from,
        to: params.to,
        interval: interval.into(),
        mode: mode.into(),
        tz,
    };
    let (points, groups) = match params.group_by {
        None => (Some(metrics::series(&db, query).await?.into_iter().map(Into::into).collect()), None),
        Some(MetricGrouping::Entity) => {
            let limit = super::limit(params.limit)?;
            super::one_app(query.app_id.clone())?;
            let groups = leaderboards::grouped_by_entity(&db, query, limit).await?;
            let groups = groups
                .into_iter()
                .map(|(key, points)| MetricGroup { key, points: points.into_iter().map(Into::into).collect() })
                .collect();
            (None, Some(groups))
        }
    };
    Ok(web::Json(MetricSeries { metric: key, interval, mode, tz: tz_name, points, groups }))
}
