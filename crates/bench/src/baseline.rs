//! The bare baseline: a minimal actix-web server running the same domain operations, hence the
//! same SQL, on the same database layer, with none of the platform around them (no auth,
//! middleware, metrics, problem mapping or validation at the edge). Chorus's overhead is measured
//! against it.

use actix_web::{App, HttpResponse, HttpServer, web};
use chorus_actions::api::model::Entity;
use chorus_actions::domain::ops;
use chorus_kit::Service;
use chorus_kit::config::{DatabaseSettings, Secret};
use chorus_kit::db::Db;

/// Starts the baseline on 127.0.0.1:`port` (0: any) over the actions service's database at
/// `database_url`, to read the very rows Chorus reads; returns its URL. Paths name the app:
/// `/bar/{app}/{key}/{user}`. It runs `workers` HTTP workers, as many as actions has.
pub async fn start(
    database_url: String,
    port: u16,
    workers: usize,
) -> anyhow::Result<(String, actix_web::dev::ServerHandle)> {
    let settings = DatabaseSettings {
        url: Secret::new(database_url),
        pool_size: 16,
        migrate_on_start: true,
        connect_timeout_secs: 5,
    };
    let db = Db::connect(&settings)?;
    db.migrate(chorus_actions::Actions::migrations()).await?;
    let data = web::Data::new(db);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/health/ready", web::get().to(HttpResponse::Ok))
            .route("/bar/{app}/{key}/{user}", web::get().to(bar))
    })
    .workers(workers)
    .disable_signals()
    .bind(("127.0.0.1", port))?;
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((url, handle))
}

async fn bar(db: web::Data<Db>, path: web::Path<(String, String, String)>) -> HttpResponse {
    let (app, key, user) = path.into_inner();
    match db.read(move |conn| ops::get_entity(conn, &app, &key, Some(&user))).await {
        Ok(entity) => HttpResponse::Ok().json(Entity::from(entity)),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}
