//! The actions service's tables.

diesel::table! {
    entities (id) {
        id -> Text,
        app_id -> Text,
        entity_key -> Text,
        key_hash -> Text,
        name -> Nullable<Text>,
        entity_type -> Nullable<Text>,
        meta -> Text,
        likes -> BigInt,
        comments -> BigInt,
        shares -> BigInt,
        views -> BigInt,
        total -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    actions (id) {
        id -> Text,
        app_id -> Text,
        entity_id -> Text,
        user_id -> Text,
        kind -> Text,
        body -> Nullable<Text>,
        medium -> Nullable<Text>,
        parent_id -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    view_tallies (entity_id, user_id) {
        entity_id -> Text,
        user_id -> Text,
        views -> BigInt,
    }
}

diesel::table! {
    action_tallies (user_id, entity_id) {
        entity_id -> Text,
        user_id -> Text,
        likes -> BigInt,
        comments -> BigInt,
        shares -> BigInt,
    }
}

diesel::table! {
    flags (id) {
        id -> Text,
        app_id -> Text,
        comment_id -> Text,
        entity_id -> Text,
        user_id -> Text,
        reason -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(actions -> entities (entity_id));
// The kit's mirror of the users feed, read by action lists in typed subselects.
chorus_kit::users_mirror_tables!();

diesel::allow_tables_to_appear_in_same_query!(
    entities,
    actions,
    view_tallies,
    action_tallies,
    flags,
    chorus_user_blocks,
    chorus_user_bans
);
