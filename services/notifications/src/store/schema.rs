//! The notifications service's tables.

diesel::table! {
    devices (id) {
        id -> Text,
        app_id -> Text,
        user_id -> Text,
        platform -> Text,
        provider -> Text,
        token -> Text,
        created_at -> Timestamp,
        environment -> Nullable<Text>,
        web_push_p256dh -> Nullable<Text>,
        web_push_auth -> Nullable<Text>,
    }
}

diesel::table! {
    subscriptions (user_id, key_hash, kind) {
        app_id -> Text,
        user_id -> Text,
        entity_key -> Text,
        key_hash -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        app_id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Nullable<Text>,
        entity_key -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        action_id -> Nullable<Text>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        url -> Nullable<Text>,
    }
}

diesel::table! {
    broadcasts (id) {
        id -> Text,
        app_id -> Text,
        title -> Text,
        body -> Nullable<Text>,
        url -> Nullable<Text>,
        entity_key -> Nullable<Text>,
        audience -> Text,
        recipients -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fanout_jobs (id) {
        id -> Text,
        app_id -> Text,
        spec -> Text,
        after_user -> Text,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    app_users (user_id) {
        user_id -> Text,
        app_id -> Text,
    }
}

diesel::table! {
    comment_authors (comment_id) {
        comment_id -> Text,
        author_id -> Text,
    }
}

diesel::table! {
    broadcast_quota_locks (app_id) {
        app_id -> Text,
        touched_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        app_id -> Text,
        url -> Text,
        event_types -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        app_id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    push_deliveries (id) {
        id -> Text,
        app_id -> Text,
        device_id -> Text,
        provider -> Text,
        notification_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    muted_users (user_id) {
        user_id -> Text,
        app_id -> Text,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    devices,
    subscriptions,
    notifications,
    comment_authors,
    broadcasts,
    app_users,
    fanout_jobs,
    broadcast_quota_locks,
    webhooks,
    webhook_deliveries,
    push_deliveries,
    muted_users
);
