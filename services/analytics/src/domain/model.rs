//! The analytics domain's plain types: metrics, the facts they count, and query answers.

use chrono::{DateTime, Utc};

/// The longest custom event name.
pub const MAX_NAME_CHARS: usize = 64;

/// What a query can count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Likes made (`actions.likes`); withdrawn likes are not subtracted.
    Likes,
    Comments,
    Shares,
    /// Views recorded (`actions.views`).
    Views,
    /// Users who joined (`users.new`).
    NewUsers,
    /// Distinct users with any activity (`users.active`): an action, an ingested event with a
    /// user, or joining.
    ActiveUsers,
    /// Ingested events named so (`events.<name>`).
    Custom(String),
}

impl Metric {
    /// The metric's name on the wire and in storage.
    pub fn key(&self) -> String {
        match self {
            Self::Likes => "actions.likes".into(),
            Self::Comments => "actions.comments".into(),
            Self::Shares => "actions.shares".into(),
            Self::Views => "actions.views".into(),
            Self::NewUsers => "users.new".into(),
            Self::ActiveUsers => "users.active".into(),
            Self::Custom(name) => format!("events.{name}"),
        }
    }

    /// Parses a metric name; `None` when it names no metric.
    pub fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "actions.likes" => Self::Likes,
            "actions.comments" => Self::Comments,
            "actions.shares" => Self::Shares,
            "actions.views" => Self::Views,
            "users.new" => Self::NewUsers,
            "users.active" => Self::ActiveUsers,
            other => Self::Custom(other.strip_prefix("events.").filter(|name| is_event_name(name))?.to_owned()),
        })
    }

    /// True for a count of distinct users, which comes from sketches rather than sums.
    pub fn is_distinct(&self) -> bool {
        matches!(self, Self::ActiveUsers)
    }
}

/// A custom event name: 1 to 64 of letters, digits, `_`, `-`, `.` and `:`, starting with a
/// letter or digit (the pattern the spec states).
pub fn is_event_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphanumeric())
        && name.chars().count() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// One thing that happened, as analytics counts it: an ingested event, or an action, view or
/// new user learned from a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub app_id: String,
    /// Unique per app: the client's insert id, or `<feed>:<event id>` for a feed's facts.
    pub insert_id: String,
    /// The metric it counts toward (never `users.active`, which every fact with a user feeds).
    pub metric: Metric,
    pub user_id: Option<String>,
    pub entity_key: Option<String>,
    /// The event's properties, as a JSON object's text.
    pub properties: String,
    /// How much it counts: 1, or the views of a group.
    pub count: i64,
    pub occurred_at: DateTime<Utc>,
}

/// The answer to a metric query: one value per interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub start: DateTime<Utc>,
    pub value: i64,
}

/// Whether points count their own interval, or everything from the range's start to their end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PerInterval,
    Cumulative,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_round_trip_and_unknown_ones_are_none() {
        for key in ["actions.likes", "actions.views", "users.new", "users.active", "events.checkout:done"] {
            assert_eq!(Metric::parse(key).map(|m| m.key()), Some(key.to_owned()));
        }
        for key in ["actions.follows", "events.", "events._x", "events.a b", "users", ""] {
            assert_eq!(Metric::parse(key), None, "{key}");
        }
        assert!(is_event_name(&"a".repeat(64)));
        assert!(!is_event_name(&"a".repeat(65)));
    }
}
