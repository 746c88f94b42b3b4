//! The kit's own tables, present in every service's database.

diesel::table! {
    chorus_events (id) {
        id -> BigInt,
        app_id -> Text,
        event_type -> Text,
        subject -> Text,
        data -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    chorus_event_sequence (id) {
        id -> Integer,
        last_id -> BigInt,
        pruned_through -> BigInt,
    }
}

diesel::table! {
    chorus_idempotency (scope, idempotency_key) {
        scope -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chorus_feed_cursors (feed) {
        feed -> Text,
        last_event_id -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    chorus_api_usage (day, app_id, operation) {
        day -> Text,
        app_id -> Text,
        operation -> Text,
        calls -> BigInt,
    }
}

/// Declares the tables of the kit's mirror of the users feed (`chorus_user_bans`,
/// `chorus_user_blocks`) in the calling module. The kit declares them here; a service declares
/// them again in its own schema when its queries read them in typed subselects, since diesel
/// lets only tables of one crate appear in one query, and a typed query stays prepared where
/// raw SQL would not.
#[macro_export]
macro_rules! users_mirror_tables {
    () => {
        diesel::table! {
            chorus_user_bans (user_id) {
                user_id -> Text,
                app_id -> Text,
            }
        }

        diesel::table! {
            chorus_user_blocks (blocker_id, blocked_id) {
                app_id -> Text,
                blocker_id -> Text,
                blocked_id -> Text,
            }
        }
    };
}

users_mirror_tables!();

diesel::table! {
    chorus_erased_users (user_id) {
        user_id -> Text,
        app_id -> Text,
        erased_at -> Timestamp,
    }
}
