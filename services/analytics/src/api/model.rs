//! The analytics service's wire types: what the spec shows. They convert to and from the
//! domain's plain types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::ingest::{IngestReport, Rejection};
use crate::domain::model::{Mode, Point};
use crate::domain::time::Interval;

/// Properties per event, at most.
pub const MAX_PROPERTIES: usize = 64;
/// Characters per property name, at most.
pub const MAX_PROPERTY_NAME: usize = 64;
/// Characters per string property value, at most.
pub const MAX_PROPERTY_TEXT: usize = 1_024;
/// Characters of an insert id, at most.
pub const MAX_INSERT_ID: usize = 64;
/// Characters of a user id, at most.
pub const MAX_USER_ID: usize = 128;
/// Characters of an entity key, at most (as the actions service allows).
pub const MAX_ENTITY_KEY: usize = 2_048;

pub const EVENT_NAME_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";
pub const INSERT_ID_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}$";
pub const METRIC_PATTERN: &str =
    r"^(actions\.(likes|comments|shares|views)|users\.(new|active)|events\.[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$";

/// A batch of custom events from an SDK.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 1,000 events; the whole body is at most 1 MiB.
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<IncomingEvent>,
}

/// One custom event. It counts toward the metric `events.<name>`, and as its user's activity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingEvent {
    /// The event's name: 1 to 64 letters, digits, `_`, `-`, `.` or `:`, starting with a letter
    /// or digit.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    pub name: String,
    /// The user it is about. With a user token it defaults to the caller, and may name no one
    /// else (such an event is rejected).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000]+$")]
    pub user_id: Option<String>,
    /// The entity it is about.
    #[schema(value_type = Option<crate::api::model::EntityKey>)]
    pub entity_key: Option<String>,
    /// Flat properties: at most 64, each name at most 64 characters, each value a string of at
    /// most 1,024 characters, a number, a boolean or null.
    #[serde(default)]
    #[schema(value_type = Properties)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// When it happened on the device (RFC 3339). At most a day in the future and no older than
    /// the raw-event retention (90 days by default), else the event is rejected.
    pub timestamp: DateTime<Utc>,
    /// Unique per app: an event whose insert id was seen before is counted once (a duplicate).
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub insert_id: String,
}

/// An entity key: 1 to 2,048 characters without NUL, such as a URL.
pub struct EntityKey;

impl PartialSchema for EntityKey {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An entity key: 1 to 2,048 characters without NUL, such as a URL."))
            .min_length(Some(1))
            .max_length(Some(MAX_ENTITY_KEY))
            .pattern(Some(r"^[^\u0000]+$"))
            .into()
    }
}

impl ToSchema for EntityKey {
    fn name() -> std::borrow::Cow<'static, str> {
        "EntityKey".into()
    }
}

/// An event's properties, as the spec shows them.
pub struct Properties;

impl PartialSchema for Properties {
    fn schema() -> RefOr<Schema> {
        let value = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_PROPERTY_TEXT)))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build();
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Flat properties: at most 64, each name 1 to 64 characters, each value a string of at most \
                 1,024 characters, a number, a boolean or null.",
            ))
            .max_properties(Some(MAX_PROPERTIES))
            .property_names(Some(
                ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(MAX_PROPERTY_NAME)),
            ))
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                value,
            )))))
            .into()
    }
}

impl ToSchema for Properties {
    fn name() -> std::borrow::Cow<'static, str> {
        "Properties".into()
    }
}

/// What became of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestResult {
    /// Events kept and counted.
    pub accepted: u64,
    /// Events whose insert id was seen before, in this batch or an earlier one; not counted
    /// again.
    pub duplicates: u64,
    /// The events refused, each with its index in the batch and why.
    pub rejected: Vec<RejectedEvent>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RejectedEvent {
    /// The event's index in the batch, from 0.
    #[schema(minimum = 0, maximum = 999)]
    pub index: u32,
    pub reason: RejectionReason,
    /// The reason, for people.
    pub detail: String,
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// Its timestamp is more than a day in the future.
    InTheFuture,
    /// Its timestamp is older than the raw-event retention.
    PastRetention,
    /// Sent with a user token, it names another user.
    NotTheSender,
}

impl From<IngestReport> for IngestResult {
    fn from(report: IngestReport) -> Self {
        Self {
            accepted: report.accepted as u64,
            duplicates: report.duplicates as u64,
            rejected: report
                .rejected
                .into_iter()
                .map(|(index, rejection)| RejectedEvent {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    detail: rejection.to_string(),
                    reason: match rejection {
                        Rejection::InTheFuture => RejectionReason::InTheFuture,
                        Rejection::PastRetention { .. } => RejectionReason::PastRetention,
                        Rejection::NotTheSender => RejectionReason::NotTheSender,
                    },
                })
                .collect(),
        }
    }
}

/// The width of each point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricInterval {
    Hour,
    #[default]
    Day,
    /// ISO 8601 weeks, Monday to Monday.
    Week,
    Month,
}

impl From<MetricInterval> for Interval {
    fn from(interval: MetricInterval) -> Self {
        match interval {
            MetricInterval::Hour => Self::Hour,
            MetricInterval::Day => Self::Day,
            MetricInterval::Week => Self::Week,
            MetricInterval::Month => Self::Month,
        }
    }
}

/// Whether each point counts its own interval, or everything from the first interval's start
/// to its own end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricMode {
    #[default]
    PerInterval,
    Cumulative,
}

impl From<MetricMode> for Mode {
    fn from(mode: MetricMode) -> Self {
        match mode {
            MetricMode::PerInterval => Self::PerInterval,
            MetricMode::Cumulative => Self::Cumulative,
        }
    }
}

/// An IANA time zone name, such as `Europe/Berlin` or `Asia/Kathmandu`: any name of the tz
/// database except the fixed-offset `GMT+N` and `GMT-N` forms (whose signs run backwards, and
/// which generated clients cannot name apart); `UTC` and `Etc/UTC` are in.
pub struct TimeZoneName;

impl TimeZoneName {
    /// The zone a name names, when the spec lists it.
    pub fn parse(name: &str) -> Option<chrono_tz::Tz> {
        listed(name).then(|| name.parse().ok()).flatten()
    }
}

fn listed(name: &str) -> bool {
    !name.contains("GMT+") && !name.contains("GMT-")
}

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An IANA time zone name from the tz database, such as `Europe/Berlin` (the fixed-offset \
                 `Etc/GMT+N` forms excepted).",
            ))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).filter(|name| listed(name))))
            .into()
    }
}

impl ToSchema for TimeZoneName {
    fn name() -> std::borrow::Cow<'static, str> {
        "TimeZoneName".into()
    }
}

/// A metric's values over a range.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricSeries {
    /// The metric, as asked.
    pub metric: String,
    pub interval: MetricInterval,
    pub mode: MetricMode,
    /// The time zone the intervals follow.
    #[schema(value_type = TimeZoneName)]
    pub tz: String,
    /// One point per interval, oldest first; an interval without data is 0. Absent when
    /// grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<MetricPoint>>,
    /// With `group_by=entity`: the top entities over the range (most first), each with one
    /// point per interval. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<MetricGroup>>,
}

/// One group of a grouped metric.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricGroup {
    /// The group's key: an entity key, for `group_by=entity`.
    pub key: String,
    pub points: Vec<MetricPoint>,
}

/// What a metric's points are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricGrouping {
    /// The entity each count is about (actions, and custom events that name one).
    Entity,
}

/// The entities with the most activity over a range.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntityLeaderboard {
    /// Most first (ties by key).
    pub items: Vec<EntityLeader>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntityLeader {
    pub entity_key: String,
    /// The sum of the chosen metrics over the range.
    #[schema(minimum = 0)]
    pub count: i64,
}

/// The users with the most activity over a range.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserLeaderboard {
    /// Most first (ties by id). Erased users are not listed.
    pub items: Vec<UserLeader>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserLeader {
    pub user_id: String,
    /// Their likes, comments, shares and ingested events over the range (joining counts once).
    #[schema(minimum = 0)]
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricPoint {
    /// The interval's start (RFC 3339, UTC).
    pub start: DateTime<Utc>,
    /// The count in the interval (or up to its end, when cumulative). For `users.active`, a
    /// distinct count: exact up to 128 users, else within 0.81% (one standard error).
    #[schema(minimum = 0)]
    pub value: i64,
}

impl From<Point> for MetricPoint {
    fn from(point: Point) -> Self {
        Self { start: point.start, value: point.value }
    }
}

/// What a rebuild did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RebuildResult {
    /// Apps whose rollups were recomputed.
    pub apps: u64,
    /// Raw events replayed.
    pub events: u64,
    /// Rollups from this instant on were recomputed: the first UTC midnight after the raw-event
    /// retention's cutoff. Older rollups have no raw events left and stay as they were.
    pub from: DateTime<Utc>,
}
