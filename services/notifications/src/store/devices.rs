use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::devices;
use crate::domain::model::{ApnsEnvironment, Device, NewDevice, PushProvider};

type DeviceRow = (String, String, String, String, Option<String>, NaiveDateTime);

fn to_device((id, platform, provider, token, environment, created_at): DeviceRow) -> Device {
    let environment = environment.as_deref().map(ApnsEnvironment::parse);
    Device { id, platform, provider, token, environment, created_at: created_at.and_utc() }
}

macro_rules! device_columns {
    () => {
        (devices::id, devices::platform, devices::provider, devices::token, devices::environment, devices::created_at)
    };
}

/// What is stored of how to reach the device: its APNs environment (APNs only) and its Web
/// Push keys (Web Push only).
fn reach(new: &NewDevice) -> (Option<&'static str>, Option<&str>, Option<&str>) {
    let environment = (new.provider == PushProvider::Apns).then(|| new.environment.unwrap_or_default().as_str());
    let keys = new.web_push_keys.as_ref().filter(|_| new.provider == PushProvider::Webpush);
    (environment, keys.map(|k| k.p256dh.as_str()), keys.map(|k| k.auth.as_str()))
}

/// Registers the device for the user. A push token already known in the app moves to this user
/// (the device changed hands); false when it was already theirs.
/// `None` when the device is new and the user already has `max_devices`.
pub fn register(
    conn: &mut DbConnection,
    id: &str,
    app_id: &str,
    user_id: &str,
    new: &NewDevice,
    max_devices: i64,
) -> Result<Option<(Device, bool)>, DbError> {
    let same_token =
        devices::app_id.eq(app_id).and(devices::provider.eq(new.provider.as_str())).and(devices::token.eq(&new.token));
    let existing: Option<(String, String)> =
        devices::table.filter(same_token).select((devices::id, devices::user_id)).first(conn).optional()?;
    let (environment, p256dh, auth) = reach(new);
    let reached_by =
        (devices::environment.eq(environment), devices::web_push_p256dh.eq(p256dh), devices::web_push_auth.eq(auth));
    let (device_id, created) = match existing {
        Some((device_id, owner)) => {
            // A registration again may bring new keys or a corrected environment.
            diesel::update(devices::table.find(&device_id))
                .set((devices::user_id.eq(user_id), devices::platform.eq(new.platform.as_str()), reached_by))
                .execute(conn)?;
            if owner != user_id {
                // What was queued for the previous owner must not reach the new one.
                super::push::forget_pending_of_device(conn, &device_id)?;
            }
            (device_id, owner != user_id)
        }
        None => {
            if count_of_user(conn, user_id)? >= max_devices {
                return Ok(None);
            }
            diesel::insert_into(devices::table)
                .values((
                    devices::id.eq(id),
                    devices::app_id.eq(app_id),
                    devices::user_id.eq(user_id),
                    devices::platform.eq(new.platform.as_str()),
                    devices::provider.eq(new.provider.as_str()),
                    devices::token.eq(&new.token),
                    devices::created_at.eq(chorus_kit::db::now()),
                    reached_by,
                ))
                .execute(conn)?;
            (id.to_owned(), true)
        }
    };
    let row: DeviceRow = devices::table.find(&device_id).select(device_columns!()).first(conn)?;
    Ok(Some((to_device(row), created)))
}

/// The user's devices in id order, after `after`.
pub fn of_user(
    conn: &mut DbConnection,
    user_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Device>, DbError> {
    let mut query = devices::table
        .filter(devices::user_id.eq(user_id))
        .select(device_columns!())
        .order(devices::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(devices::id.gt(after.to_owned()));
    }
    Ok(query.load::<DeviceRow>(conn)?.into_iter().map(to_device).collect())
}

pub fn count_of_user(conn: &mut DbConnection, user_id: &str) -> Result<i64, DbError> {
    Ok(devices::table.filter(devices::user_id.eq(user_id)).count().get_result(conn)?)
}

/// Removes one of the user's devices; false when they have no such device.
pub fn remove(conn: &mut DbConnection, user_id: &str, device_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(devices::table.filter(devices::id.eq(device_id).and(devices::user_id.eq(user_id))))
        .execute(conn)?
        > 0)
}

/// Removes a device the provider reports gone; false when it was already gone.
pub fn remove_gone(conn: &mut DbConnection, device_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(devices::table.find(device_id)).execute(conn)? > 0)
}

pub fn remove_all_of(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(devices::table.filter(devices::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}
