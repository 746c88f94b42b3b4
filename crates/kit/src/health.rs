//! Liveness and readiness. Ready means the database answers.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::Db;
use crate::problem::{Problem, ProblemType};

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(db: web::Data<Db>) -> Result<HttpResponse, Problem> {
    match db.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": db.backend().name() }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(Problem::new(ProblemType::Unavailable).with_detail("the database does not answer"))
        }
    }
}
