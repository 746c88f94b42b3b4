//! The users service's tables.

diesel::table! {
    apps (id) {
        id -> Text,
        name -> Text,
        api_key -> Text,
        secret_hash -> Text,
        settings -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        app_id -> Text,
        display_name -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        bio -> Nullable<Text>,
        location -> Nullable<Text>,
        image_url -> Nullable<Text>,
        meta -> Text,
        notifications_enabled -> Bool,
        banned_at -> Nullable<Timestamp>,
        ban_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    devices (app_id, device_id) {
        app_id -> Text,
        device_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    identities (app_id, provider, external_id) {
        app_id -> Text,
        provider -> Text,
        external_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blocks (blocker_id, blocked_id) {
        app_id -> Text,
        blocker_id -> Text,
        blocked_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        user_id -> Text,
        app_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        seed -> Text,
        created_at -> Timestamp,
        activates_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(apps, users, devices, identities, blocks, refresh_tokens);
