//! Which notifications are pushed, and to which devices. Every notification that reaches an
//! inbox is also pushed to each of the recipient's devices on a provider this service has
//! credentials for, unless the recipient turned notifications off. The pushes are queued in the
//! transaction that writes the notifications, so none is lost; `crate::push` sends them.

use chorus_kit::db::DbConnection;
use chorus_kit::webhooks::Retried;

use super::model::{Notification, PushDelivery, PushProvider};
use super::{NotificationsError, new_id};
use crate::store;

/// The providers pushes are queued for: those with credentials. A provider without them is off,
/// and its devices get nothing (rather than a queue that never drains).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushRoutes {
    pub apns: bool,
    pub fcm: bool,
    pub webpush: bool,
}

impl PushRoutes {
    /// The providers that are on.
    pub fn providers(self) -> Vec<PushProvider> {
        PushProvider::ALL
            .into_iter()
            .filter(|provider| match provider {
                PushProvider::Apns => self.apns,
                PushProvider::Fcm => self.fcm,
                PushProvider::Webpush => self.webpush,
            })
            .collect()
    }
}

/// Queues a push of each notification to its recipient's devices, in the caller's transaction:
/// one read of the devices and one write for a whole fan-out page. `delivered` pairs each
/// recipient with their notification.
pub fn enqueue(
    conn: &mut DbConnection,
    routes: PushRoutes,
    app_id: &str,
    delivered: &[(&str, &Notification)],
) -> Result<(), NotificationsError> {
    let providers: Vec<&str> = routes.providers().into_iter().map(PushProvider::as_str).collect();
    if providers.is_empty() || delivered.is_empty() {
        return Ok(());
    }
    let users: Vec<String> = delivered.iter().map(|(user, _)| (*user).to_owned()).collect();
    let devices = store::push::reachable_devices(conn, &users, &providers)?;
    let pushes: Vec<store::push::NewPush> = devices
        .iter()
        .flat_map(|(device_id, user_id, provider)| {
            delivered
                .iter()
                .filter(move |(user, _)| user == user_id)
                .map(move |(_, notification)| (new_id(), device_id.clone(), provider.clone(), notification.id.clone()))
        })
        .collect();
    Ok(store::push::enqueue(conn, app_id, &pushes)?)
}

/// Puts a dead push back in the queue with a fresh set of attempts.
pub fn retry(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<PushDelivery, NotificationsError> {
    match store::push::retry(conn, app_id, id)? {
        Retried::Queued => store::push::find_delivery(conn, app_id, id)?.ok_or(NotificationsError::PushNotFound),
        Retried::NotDead => Err(NotificationsError::DeliveryNotDead),
        Retried::NotFound => Err(NotificationsError::PushNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_providers_with_credentials_are_routed() {
        assert!(PushRoutes::default().providers().is_empty());
        let routes = PushRoutes { apns: true, fcm: false, webpush: true };
        assert_eq!(routes.providers(), [PushProvider::Apns, PushProvider::Webpush]);
    }
}
