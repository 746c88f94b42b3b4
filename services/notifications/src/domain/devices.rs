//! Push devices: one per push token in an app, a bounded number per user.

use chorus_kit::db::DbConnection;

use super::model::{Device, NewDevice};
use super::{NotificationsError, new_id};
use crate::store;

/// Devices one user may register. More would be a leak (an app registering a fresh token on
/// every start) rather than devices.
pub const MAX_DEVICES_PER_USER: i64 = 50;

/// Registers the caller's device; true when it is new to them (a token that belonged to another
/// user of the app moves to the caller, as when a device changes hands).
pub fn register(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    new: &NewDevice,
) -> Result<(Device, bool), NotificationsError> {
    new.validate()?;
    store::devices::register(conn, &new_id(), app_id, user_id, new, MAX_DEVICES_PER_USER)?
        .ok_or(NotificationsError::TooManyDevices { max: MAX_DEVICES_PER_USER })
}
