//! Flags, the app's moderation queue, and the ops recount.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{AppPrincipal, OperatorPrincipal, UserPrincipal};
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::pagination::PageQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{Flag, FlagStatus};
use crate::domain::model as domain;
use crate::domain::ops;
use crate::domain::recount;
use crate::store;

/// How the app resolves a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Keep the comment.
    Dismiss,
    /// Delete the comment (it stays as a tombstone).
    RemoveComment,
}

impl From<Decision> for domain::Decision {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Dismiss => Self::Dismiss,
            Decision::RemoveComment => Self::RemoveComment,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecountReport {
    pub entities_checked: i64,
    /// Entities whose stored counts, or users' own summaries of them (`me` on an entity), differed
    /// from their rows, now fixed. Should be zero.
    pub entities_fixed: i64,
}

impl From<recount::RecountReport> for RecountReport {
    fn from(report: recount::RecountReport) -> Self {
        let recount::RecountReport { entities_checked, entities_fixed } = report;
        Self { entities_checked, entities_fixed }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFlag {
    /// Why (at most 500 characters).
    #[schema(max_length = 500, pattern = r"^[^\u0000]*$")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub decision: Decision,
}

chorus_kit::list_page!(
    FlagList of Flag
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagListQuery {
    /// `open` (default), `dismissed` or `removed`.
    pub status: Option<FlagStatus>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Flag a comment
///
/// Puts the comment in the app's moderation queue. Once per user: a repeat answers 200 with the
/// existing flag.
#[utoipa::path(
    post, path = "/v1/comments/{comment_id}/flags", tag = "moderation", operation_id = "flag_comment",
    params(("comment_id" = String, Path)),
    request_body = NewFlag,
    responses(
        (status = 200, description = "The caller's existing flag", body = Flag),
        (status = 201, description = "The new flag", body = Flag),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn flag_comment(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<NewFlag>,
) -> Result<HttpResponse, Problem> {
    let comment_id = path.into_inner();
    let reason = body.into_inner().reason;
    let (flag, created) =
        db.write(move |conn| ops::flag(conn, &me.app_id, &me.user_id, &comment_id, reason.as_deref())).await?;
    let flag = Flag::from(flag);
    Ok(if created { HttpResponse::Created().json(flag) } else { HttpResponse::Ok().json(flag) })
}

/// List the moderation queue (app)
#[utoipa::path(
    get, path = "/v1/moderation/flags", tag = "moderation", operation_id = "list_flags",
    params(FlagListQuery),
    responses(
        (status = 200, description = "A page of flags, newest first", body = FlagList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_flags(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<FlagListQuery>,
) -> Result<web::Json<FlagList>, Problem> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.page()?;
    let status = query.status.map_or(domain::FlagStatus::Open, domain::FlagStatus::from);
    let (before, fetch) = (page.after.clone(), page.fetch_limit());
    let mut rows = db.read(move |conn| store::flags::list(conn, &app.app_id, status, before.as_deref(), fetch)).await?;
    let next_cursor = page.finish(&mut rows, |flag| flag.id.clone());
    Ok(web::Json(FlagList { items: rows.into_iter().map(Flag::from).collect(), next_cursor }))
}

/// Resolve a flag (app)
///
/// `dismiss` keeps the comment; `remove_comment` deletes it. Every open flag on the same comment
/// is resolved alike.
#[utoipa::path(
    post, path = "/v1/moderation/flags/{flag_id}/resolve", tag = "moderation", operation_id = "resolve_flag",
    params(("flag_id" = String, Path)),
    request_body = Resolution,
    responses(
        (status = 200, description = "The resolved flag", body = Flag),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn resolve_flag(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<Resolution>,
) -> Result<web::Json<Flag>, Problem> {
    let flag_id = path.into_inner();
    let decision = body.into_inner().decision.into();
    let flag = db.write(move |conn| ops::resolve_flag(conn, &app.app_id, &flag_id, decision)).await?;
    Ok(web::Json(flag.into()))
}

/// Recount every entity (operator)
///
/// Recomputes each entity's counts, and each user's summary of it, from its rows and fixes any
/// that differ. `entities_fixed`
/// should be zero: counts change in the same transaction as the actions.
#[utoipa::path(
    post, path = "/v1/admin/recount", tag = "moderation", operation_id = "recount",
    responses(
        (status = 200, description = "What was checked and fixed", body = RecountReport),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("operator" = []))
)]
pub async fn recount(_operator: OperatorPrincipal, db: web::Data<Db>) -> Result<web::Json<RecountReport>, Problem> {
    let mut total = recount::RecountReport::default();
    let mut after: Option<String> = None;
    loop {
        // One transaction per page keeps each lock short.
        let (report, next) = db.write(move |conn| recount::recount_page(conn, after.as_deref())).await?;
        total += report;
        match next {
            Some(next) => after = Some(next),
            None => return Ok(web::Json(total.into())),
        }
    }
}
