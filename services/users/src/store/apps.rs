//! Apps, their secrets' digests and their settings.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use chorus_kit::db::{DbError, written};

use super::DbConnection;
use super::schema::apps;
use crate::domain::apps::{App, AppSettings};

/// The `settings` column: JSON, one member per setting. A member a row lacks (it was written
/// before the setting existed) reads as the setting's default, so adding a setting needs no
/// migration.
#[derive(Serialize, Deserialize)]
#[serde(default)]
struct StoredSettings {
    anonymous_sessions: bool,
    access_token_ttl_secs: u32,
    refresh_token_ttl_days: u32,
}

impl Default for StoredSettings {
    fn default() -> Self {
        Self::from(&AppSettings::default())
    }
}

impl From<&AppSettings> for StoredSettings {
    fn from(settings: &AppSettings) -> Self {
        Self {
            anonymous_sessions: settings.anonymous_sessions,
            access_token_ttl_secs: settings.access_token_ttl_secs,
            refresh_token_ttl_days: settings.refresh_token_ttl_days,
        }
    }
}

impl From<StoredSettings> for AppSettings {
    fn from(stored: StoredSettings) -> Self {
        Self {
            anonymous_sessions: stored.anonymous_sessions,
            access_token_ttl_secs: stored.access_token_ttl_secs,
            refresh_token_ttl_days: stored.refresh_token_ttl_days,
        }
    }
}

/// The `settings` column's text for `settings`.
fn settings_column(settings: &AppSettings) -> String {
    serde_json::to_string(&StoredSettings::from(settings)).unwrap_or_default()
}

#[derive(Queryable)]
struct AppRow {
    id: String,
    name: String,
    api_key: String,
    secret_hash: String,
    settings: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl AppRow {
    fn into_app(self) -> (App, String) {
        let app = App {
            id: self.id,
            name: self.name,
            api_key: self.api_key,
            // Settings are written only from a validated AppSettings, so they always parse;
            // should a row ever be damaged, defaults are the safe reading.
            settings: serde_json::from_str::<StoredSettings>(&self.settings).unwrap_or_default().into(),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        };
        (app, self.secret_hash)
    }
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    settings: &AppSettings,
    api_key: &str,
    secret_hash: &str,
) -> Result<App, DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(apps::table)
        .values((
            apps::id.eq(id),
            apps::name.eq(name),
            apps::api_key.eq(api_key),
            apps::secret_hash.eq(secret_hash),
            apps::settings.eq(settings_column(settings)),
            apps::created_at.eq(now),
            apps::updated_at.eq(now),
        ))
        .execute(conn)?;
    written(find(conn, id)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<App>, DbError> {
    let row: Option<AppRow> = apps::table.find(id).first(conn).optional()?;
    Ok(row.map(|row| row.into_app().0))
}

/// The app with this API key, and its secret's digest.
pub fn find_by_api_key(conn: &mut DbConnection, api_key: &str) -> Result<Option<(App, String)>, DbError> {
    let row: Option<AppRow> = apps::table.filter(apps::api_key.eq(api_key)).first(conn).optional()?;
    Ok(row.map(AppRow::into_app))
}

pub fn update(
    conn: &mut DbConnection,
    id: &str,
    name: Option<&str>,
    settings: Option<&AppSettings>,
) -> Result<Option<App>, DbError> {
    let now = chorus_kit::db::now();
    if let Some(name) = name {
        diesel::update(apps::table.find(id)).set((apps::name.eq(name), apps::updated_at.eq(now))).execute(conn)?;
    }
    if let Some(settings) = settings {
        diesel::update(apps::table.find(id))
            .set((apps::settings.eq(settings_column(settings)), apps::updated_at.eq(now)))
            .execute(conn)?;
    }
    find(conn, id)
}

/// False when there is no such app.
pub fn set_secret_hash(conn: &mut DbConnection, id: &str, secret_hash: &str) -> Result<bool, DbError> {
    let updated = diesel::update(apps::table.find(id))
        .set((apps::secret_hash.eq(secret_hash), apps::updated_at.eq(chorus_kit::db::now())))
        .execute(conn)?;
    Ok(updated == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_column_keeps_its_format_and_reads_older_rows() {
        let settings = AppSettings { anonymous_sessions: false, access_token_ttl_secs: 600, refresh_token_ttl_days: 7 };
        let column = settings_column(&settings);
        assert_eq!(column, r#"{"anonymous_sessions":false,"access_token_ttl_secs":600,"refresh_token_ttl_days":7}"#);
        assert_eq!(AppSettings::from(serde_json::from_str::<StoredSettings>(&column).unwrap()), settings);
        let older: StoredSettings = serde_json::from_str(r#"{"anonymous_sessions":false}"#).unwrap();
        assert_eq!(AppSettings::from(older), AppSettings { anonymous_sessions: false, ..AppSettings::default() });
    }
}
