//! The per-app dashboard at `/dashboard`: a page that signs in with the app's key and secret and
//! charts the app's numbers from the same public API (metrics, leaderboards, alert firings). Its
//! files, uPlot 1.6.32 (MIT) included, are served from the binary, so it makes no third-party
//! request. The page and its sign-in are not part of the API contract.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::extract::Json;
use serde::{Deserialize, Serialize};

use chorus_kit::rate_limit::{OperationClass, RateLimits};

use super::AnalyticsState;

/// The page's files: name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "uPlot.iife.min.js",
        "application/javascript; charset=utf-8",
        include_bytes!("../../assets/uplot/uPlot.iife.min.js"),
    ),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../../assets/uplot/uPlot.min.css")),
    ("LICENSE", "text/plain; charset=utf-8", include_bytes!("../../assets/uplot/LICENSE")),
    ("dashboard.js", "application/javascript; charset=utf-8", include_bytes!("../../assets/dashboard/dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_bytes!("../../assets/dashboard/dashboard.css")),
];

const PAGE: &str = include_str!("../../assets/dashboard/index.html");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(page)).route("/dashboard/session", web::post().to(sign_in));
    for (name, content_type, body) in ASSETS {
        cfg.route(
            &format!("/dashboard/assets/{name}"),
            web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type(content_type)
                    .insert_header(("Cache-Control", "public, max-age=3600"))
                    .body(body)
            }),
        );
    }
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page runs only its own scripts and talks only to this service.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        ))
        .body(PAGE)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    api_key: String,
    api_secret: String,
}

#[derive(Debug, Serialize)]
struct Session {
    access_token: String,
    expires_in: i64,
}

/// Exchanges the app's key and secret for an app token at the users service, for the page. Each
/// API key gets the credential exchanges' budget here too, so the page is no way around it.
async fn sign_in(
    req: actix_web::HttpRequest,
    state: web::Data<AnalyticsState>,
    limits: web::Data<RateLimits>,
    body: Json<Credentials>,
) -> Result<web::Json<Session>, Problem> {
    let Credentials { api_key, api_secret } = body.into_inner();
    chorus_kit::auth::take_quota_of(&req, &limits, OperationClass::Session, &api_key)?;
    match state.upstream.app_token(&api_key, &api_secret).await {
        Ok(Some((access_token, expires_in))) => Ok(web::Json(Session { access_token, expires_in })),
        Ok(None) => Err(Problem::unauthenticated("the API key and secret were refused")),
        Err(error) => {
            tracing::warn!(%error, "the users service could not sign a dashboard in");
            Err(Problem::new(chorus_kit::problem::ProblemType::Unavailable)
                .with_detail("the users service could not be reached; try again"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_vendored_charting_library_is_the_one_documented() {
        let digest = |name: &str| ASSETS.iter().find(|(n, ..)| *n == name).map(|(.., body)| sha256(body)).unwrap();
        assert_eq!(digest("uPlot.iife.min.js"), "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f");
        assert_eq!(digest("uPlot.min.css"), "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04");
        assert!(PAGE.contains("uPlot 1.6.32 (MIT)"));
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        let script = std::str::from_utf8(ASSETS.iter().find(|(n, ..)| *n == "dashboard.js").unwrap().2).unwrap();
        for text in [PAGE, script] {
            let outside: Vec<&str> = text.split(['"', '\'', '`']).filter(|part| part.starts_with("http")).collect();
            assert!(outside.is_empty(), "a third-party address: {outside:?}");
        }
    }
}
