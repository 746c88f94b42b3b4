//! `POST /v1/rollups:rebuild`: the operator's recount.

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::OperatorPrincipal;
use chorus_kit::db::Db;

use super::AnalyticsState;
use super::model::RebuildResult;
use crate::domain::rebuild;

/// Rebuild the rollups
///
/// Recomputes every app's rollups from the raw events kept, for whole UTC days after the
/// raw-event retention's cutoff; older rollups stay. Writes wait while an app is rebuilt. The
/// result equals the live rollups, except that an erased user's raw events are gone, so a
/// rebuild no longer counts what they did on the days it recomputes. Operator only.
#[utoipa::path(
    post, path = "/v1/rollups:rebuild", tag = "operations", operation_id = "rebuild_rollups",
    responses(
        (status = 200, description = "What was recomputed", body = RebuildResult),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("operator" = []))
)]
pub async fn rebuild_rollups(
    _operator: OperatorPrincipal,
    db: web::Data<Db>,
    state: web::Data<AnalyticsState>,
) -> Result<web::Json<RebuildResult>, Problem> {
    let report = rebuild::rebuild(&db, state.retention_days, chrono::Utc::now()).await?;
    Ok(web::Json(RebuildResult { apps: report.apps as u64, events: report.events as u64, from: report.from }))
}
