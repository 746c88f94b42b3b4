//! Push devices.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::UserPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::pagination::PageQuery;

use super::model::{Device, NewDevice};
use crate::domain::{NotificationsError, devices};
use crate::store;

chorus_kit::list_page!(
    DeviceList of Device
);

/// Register a push device
///
/// Idempotent per push token: registering a known token answers 200 (and moves it to the
/// caller if it belonged to another user of the app, as when a device changes hands).
#[utoipa::path(
    post, path = "/v1/devices", tag = "devices", operation_id = "register_device",
    request_body = NewDevice,
    responses(
        (status = 200, description = "The device, already registered", body = Device),
        (status = 201, description = "The new device", body = Device),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("user" = []))
)]
pub async fn register_device(
    me: UserPrincipal,
    db: web::Data<Db>,
    body: Json<NewDevice>,
) -> Result<HttpResponse, Problem> {
    let new = body.into_inner().into();
    let (device, created) = db.write(move |conn| devices::register(conn, &me.app_id, &me.user_id, &new)).await?;
    let device = Device::from(device);
    Ok(if created { HttpResponse::Created().json(device) } else { HttpResponse::Ok().json(device) })
}

/// List your push devices
#[utoipa::path(
    get, path = "/v1/devices", tag = "devices", operation_id = "list_devices",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's devices", body = DeviceList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn list_devices(
    me: UserPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<DeviceList>, Problem> {
    let page = query.page()?;
    let (after, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db.read(move |conn| store::devices::of_user(conn, &me.user_id, after.as_deref(), fetch)).await?;
    let next_cursor = page.finish(&mut items, |device| device.id.clone());
    Ok(web::Json(DeviceList { items: items.into_iter().map(Device::from).collect(), next_cursor }))
}

/// Remove a push device
#[utoipa::path(
    delete, path = "/v1/devices/{device_id}", tag = "devices", operation_id = "remove_device",
    params(("device_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn remove_device(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let device_id = path.into_inner();
    let removed = db.write(move |conn| store::devices::remove(conn, &me.user_id, &device_id)).await?;
    if !removed {
        return Err(NotificationsError::DeviceNotFound.into());
    }
    Ok(HttpResponse::NoContent().finish())
}
