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
