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

diesel::table! {
    alert_rules (id) {
        id -> Text,
        app_id -> Text,
        metric -> Text,
        condition -> Text,
        threshold -> BigInt,
        window_seconds -> BigInt,
        webhook_url -> Nullable<Text>,
        broadcast -> Nullable<Text>,
        firing -> Bool,
        last_value -> Nullable<BigInt>,
        evaluated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    alert_firings (id) {
        id -> Text,
        rule_id -> Text,
        app_id -> Text,
        kind -> Text,
        value -> BigInt,
        threshold -> BigInt,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    alert_deliveries (id) {
        id -> Text,
        app_id -> Text,
        rule_id -> Text,
        firing_id -> Text,
        event_type -> Text,
        channel -> Text,
        url -> Nullable<Text>,
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
    api_usage (operation, app_id, service, day) {
        service -> Text,
        operation -> Text,
        app_id -> Text,
        day -> Text,
        calls -> BigInt,
    }
}

diesel::joinable!(alert_firings -> alert_rules (rule_id));
diesel::joinable!(alert_deliveries -> alert_rules (rule_id));

diesel::allow_tables_to_appear_in_same_query!(
    raw_events,
    event_keys,
    metric_counts,
    active_users,
    entity_counts,
    user_activity,
    alert_rules,
    alert_firings,
    alert_deliveries,
    api_usage,
);
