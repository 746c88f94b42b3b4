//! The HTTP face of the notifications service: handlers parse, authorize, call the domain and
//! map the result. The wire types (`model`, `events`, and the bodies only one resource uses, in
//! its module) and the utoipa annotations here are the published contract; they convert to and
//! from the domain's plain types.

mod broadcasts;
mod devices;
pub mod events;
mod inbox;
pub mod model;
mod push;
mod subscriptions;
mod webhooks;

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::docs::Conventions;
use chorus_kit::problem::ProblemType;

use crate::domain::NotificationsError;

/// Shared state of the notifications handlers.
pub struct NotificationsState {
    /// Broadcasts an app may send in 24 hours.
    pub daily_broadcast_quota: u32,
    /// What webhook secrets are derived from.
    pub webhook_key: chorus_kit::webhooks::WebhookKey,
    /// Whether webhooks may target private addresses (`webhooks.allow_private_targets`).
    pub allow_private_targets: bool,
    /// The push providers that are on.
    pub push: crate::domain::push::PushRoutes,
}

pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<NotificationsState>) {
    cfg.app_data(state)
        .route("/v1/devices", web::post().to(devices::register_device))
        .route("/v1/devices", web::get().to(devices::list_devices))
        .route("/v1/devices/{device_id}", web::delete().to(devices::remove_device))
        .route("/v1/subscriptions", web::get().to(subscriptions::list_subscriptions))
        .route("/v1/entities/{key}/subscriptions/{kind}", web::put().to(subscriptions::subscribe))
        .route("/v1/entities/{key}/subscriptions/{kind}", web::delete().to(subscriptions::unsubscribe))
        .route("/v1/broadcasts", web::post().to(broadcasts::send_broadcast))
        .route("/v1/broadcasts", web::get().to(broadcasts::list_broadcasts))
        .route("/v1/webhooks", web::post().to(webhooks::register_webhook))
        .route("/v1/webhooks", web::get().to(webhooks::list_webhooks))
        .route("/v1/webhooks/deliveries/{delivery_id}/retry", web::post().to(webhooks::retry_delivery))
        .route("/v1/webhooks/{webhook_id}", web::delete().to(webhooks::remove_webhook))
        .route("/v1/webhooks/{webhook_id}/deliveries", web::get().to(webhooks::list_deliveries))
        .route("/v1/push/deliveries", web::get().to(push::list_push_deliveries))
        .route("/v1/push/deliveries/{delivery_id}/retry", web::post().to(push::retry_push_delivery))
        .route("/v1/notifications", web::get().to(inbox::list_notifications))
        .route("/v1/notifications/read", web::post().to(inbox::mark_all_read))
        .route("/v1/notifications/stream", web::get().to(inbox::stream_notifications))
        .route("/v1/notifications/{notification_id}/read", web::post().to(inbox::mark_read))
        .configure(chorus_kit::feed::configure);
}

impl From<NotificationsError> for Problem {
    fn from(error: NotificationsError) -> Self {
        match error {
            NotificationsError::Invalid { field, message } => Problem::invalid(field, message),
            NotificationsError::DeviceNotFound
            | NotificationsError::NotificationNotFound
            | NotificationsError::WebhookNotFound
            | NotificationsError::DeliveryNotFound
            | NotificationsError::PushNotFound => Problem::not_found(error.to_string()),
            NotificationsError::DeliveryNotDead | NotificationsError::TooManyWebhooks { .. } => {
                Problem::conflict(error.to_string())
            }
            NotificationsError::TooManyDevices { .. } => Problem::conflict(error.to_string()),
            NotificationsError::QuotaExceeded { .. } => {
                Problem::new(ProblemType::RateLimited).with_detail(error.to_string())
            }
            NotificationsError::Db(db) => Problem::from(db),
        }
    }
}

/// The published contract of the notifications service.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Chorus notifications",
        description = "Push devices, subscriptions to entities, and the in-app inbox with its live stream. \
            Follows the actions feed: a new comment notifies the entity's subscribers, and a reply \
            the parent's author, never the author nor anyone who blocked them. Every notification \
            is also pushed to the recipient's devices (APNs, FCM HTTP v1, Web Push) unless they \
            turned notifications off. Publishes notification.created on its feed."
    ),
    paths(
        devices::register_device,
        devices::list_devices,
        devices::remove_device,
        subscriptions::subscribe,
        subscriptions::unsubscribe,
        subscriptions::list_subscriptions,
        inbox::list_notifications,
        inbox::mark_read,
        inbox::mark_all_read,
        inbox::stream_notifications,
        broadcasts::send_broadcast,
        broadcasts::list_broadcasts,
        webhooks::register_webhook,
        webhooks::list_webhooks,
        webhooks::remove_webhook,
        webhooks::list_deliveries,
        webhooks::retry_delivery,
        push::list_push_deliveries,
        push::retry_push_delivery,
        chorus_kit::feed::list_events,
        chorus_kit::feed::stream_events,
    ),
    components(schemas(model::SubscriptionKind, model::DeliveryStatus, model::PushProvider)),
    modifiers(&Conventions),
    tags(
        (name = "devices", description = "Push devices"),
        (name = "subscriptions", description = "What a user wants to hear of"),
        (name = "inbox", description = "The in-app inbox"),
        (name = "broadcasts", description = "Notifications an app sends its users"),
        (name = "webhooks", description = "Signed events delivered to the app's endpoints"),
        (name = "push", description = "Notifications pushed to devices through APNs, FCM and Web Push"),
        (name = "events", description = "The notifications event feed"),
    )
)]
pub struct ApiDoc;
