//! The analytics service's tables.

diesel::table! {
    /// Every counted fact; `occurred_at` in Unix milliseconds. (The key diesel sees is the
    /// deduplication key, unique through `event_keys`.)
    raw_events (app_id, insert_id) {
        app_id -> Text,
        insert_id -> Text,
        metric -> Text,
        user_id -> Nullable<Text>,
        entity_key -> Nullable<Text>,
        properties -> Text,
        count -> BigInt,
        occurred_at -> BigInt,
    }
}

diesel::table! {
    event_keys (app_id, insert_id) {
        app_id -> Text,
        insert_id -> Text,
        occurred_at -> BigInt,
    }
}

diesel::table! {
    metric_counts (app_id, metric, bucket) {
        app_id -> Text,
        metric -> Text,
        bucket -> BigInt,
        count -> BigInt,
    }
}

diesel::table! {
    active_users (app_id, grain, bucket) {
        app_id -> Text,
        grain -> BigInt,
        bucket -> BigInt,
        sketch -> Binary,
    }
}

diesel::table! {
    entity_counts (app_id, metric, grain, bucket, entity_key) {
        app_id -> Text,
        metric -> Text,
        entity_key -> Text,
        grain -> BigInt,
        bucket -> BigInt,
        count -> BigInt,
    }
}

diesel::table! {
    user_activity (app_id, grain, bucket, user_id) {
        app_id -> Text,
        user_id -> Text,
        grain -> BigInt,
        bucket -> BigInt,
        count -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    raw_events,
    event_keys,
    metric_counts,
    active_users,
    entity_counts,
    user_activity
);
