//! `GET /v1/leaderboards/entities` and `/v1/leaderboards/users`.

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{EntityLeader, EntityLeaderboard, UserLeader, UserLeaderboard};
use crate::domain::leaderboards::{self, Board};
use crate::domain::model::Metric;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// The range's start (RFC 3339), taken down to its 15-minute boundary.
    pub from: DateTime<Utc>,
    /// The range's end (RFC 3339), taken up to its 15-minute boundary; not before `from`
    /// (else 400).
    pub to: DateTime<Utc>,
    /// How many, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The app, which the operator must name (400 otherwise); an app token reads only its own.
    #[param(min_length = 1, max_length = 64)]
    pub app_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityParams {
    /// Rank by this metric: `actions.likes`, `actions.comments`, `actions.shares`,
    /// `actions.views` or `events.<name>`; by default, all four actions together.
    #[param(pattern = r"^(actions\.(likes|comments|shares|views)|events\.[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$")]
    pub metric: Option<String>,
}

/// Top entities
///
/// The entities with the most activity over a range, most first: by one metric, or by all four
/// actions together. Answered from rollups. Needs an app token (its own app) or the operator.
#[utoipa::path(
    get, path = "/v1/leaderboards/entities", tag = "leaderboards", operation_id = "top_entities",
    params(RangeParams, EntityParams),
    responses(
        (status = 200, description = "The top entities", body = EntityLeaderboard),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn top_entities(
    principal: Principal,
    db: web::Data<Db>,
    range: Query<RangeParams>,
    entity: Query<EntityParams>,
) -> Result<web::Json<EntityLeaderboard>, Problem> {
    let range = range.into_inner();
    let app_id = super::one_app(super::app_scope(&principal, range.app_id)?)?;
    let metrics = match entity.into_inner().metric {
        None => leaderboards::all_actions(),
        Some(key) => match Metric::parse(&key) {
            Some(metric) if !matches!(metric, Metric::NewUsers | Metric::ActiveUsers) => vec![metric],
            _ => return Err(Problem::invalid("metric", "must be an action or custom event metric")),
        },
    };
    let limit = super::limit(range.limit)?;
    let top = leaderboards::top(&db, &app_id, Board::Entities(metrics), range.from, range.to, limit).await?;
    let items = top.into_iter().map(|(entity_key, count)| EntityLeader { entity_key, count }).collect();
    Ok(web::Json(EntityLeaderboard { items }))
}

/// Most active users
///
/// The users with the most likes, comments, shares and ingested events (joining counts once)
/// over a range, most first. A user's
/// activity is kept by UTC day, so the range counts every UTC day it touches. Erased users are
/// not listed. Answered from rollups. Needs an app token (its own app) or the operator.
#[utoipa::path(
    get, path = "/v1/leaderboards/users", tag = "leaderboards", operation_id = "top_users",
    params(RangeParams),
    responses(
        (status = 200, description = "The most active users", body = UserLeaderboard),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn top_users(
    principal: Principal,
    db: web::Data<Db>,
    range: Query<RangeParams>,
) -> Result<web::Json<UserLeaderboard>, Problem> {
    let range = range.into_inner();
    let app_id = super::one_app(super::app_scope(&principal, range.app_id)?)?;
    let limit = super::limit(range.limit)?;
    let top = leaderboards::top(&db, &app_id, Board::Users, range.from, range.to, limit).await?;
    let items = top.into_iter().map(|(user_id, count)| UserLeader { user_id, count }).collect();
    Ok(web::Json(UserLeaderboard { items }))
}
