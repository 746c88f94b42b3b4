//! Reading an event feed with a client generated from an older or newer spec than the producer's.
//!
//! A producer may add event types at any time (a compatible change), so a page of its feed can
//! hold events this client has no type for. [`EventPage`] parses each item on its own: a known
//! type becomes the generated event, an unknown one is kept as [`FeedItem::Unknown`] so the
//! consumer can skip it on purpose, and a known type whose body does not parse is kept as
//! [`FeedItem::Malformed`] so the consumer can stop on it instead of losing it.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

/// The event types a generated `Event` enum covers (written by the client's build script from
/// the spec's discriminator).
pub trait EventTypes {
    /// Every `type` value of the spec's `Event` schema.
    const TYPES: &'static [&'static str];
}

/// One item of a feed page.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem<E> {
    /// An event of a type this client knows, parsed.
    Known(E),
    /// An event of a type this client does not know.
    Unknown { id: i64, event_type: String },
    /// An event of a known type that does not match its schema.
    Malformed { id: i64, event_type: String, error: String },
}

/// A page of a feed (`GET /v1/events`), as the generated client returns it.
#[derive(Debug, Clone)]
pub struct EventPage<E> {
    /// The events, each with its id.
    pub items: Vec<(i64, FeedItem<E>)>,
    /// The `after` value for the next request.
    pub next_after: i64,
    /// The newest event id of the feed.
    pub last_id: i64,
    /// Events after `next_after` not yet read (counted up to 10,000); 0 once caught up.
    pub behind: i64,
}

#[derive(Deserialize)]
struct RawPage {
    items: Vec<serde_json::Value>,
    next_after: i64,
    last_id: i64,
    #[serde(default)]
    behind: i64,
}

impl<'de, E: DeserializeOwned + EventTypes> Deserialize<'de> for EventPage<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawPage::deserialize(deserializer)?;
        let items = raw.items.into_iter().map(parse_item::<E>).collect::<Result<Vec<_>, String>>();
        let items = items.map_err(serde::de::Error::custom)?;
        Ok(Self { items, next_after: raw.next_after, last_id: raw.last_id, behind: raw.behind })
    }
}

/// The events of a feed's server-sent-event stream (`/v1/events/stream`), parsed like a page's
/// items, in order. Keepalive comments are skipped; a frame that is not an event, or a broken
/// connection, ends the stream with an error, so the reader resumes from its last applied id.
pub fn event_frames<E, S, B, X>(body: S) -> impl futures_util::Stream<Item = Result<(i64, FeedItem<E>), String>>
where
    E: DeserializeOwned + EventTypes,
    S: futures_util::Stream<Item = Result<B, X>>,
    B: AsRef<[u8]>,
    X: std::fmt::Display,
{
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;

    body.eventsource().map(|frame| {
        let frame = frame.map_err(|error| format!("the event stream broke: {error}"))?;
        let value: serde_json::Value =
            serde_json::from_str(&frame.data).map_err(|error| format!("an event frame is not JSON: {error}"))?;
        parse_item::<E>(value)
    })
}

/// Parses one event; fails only when even its `id` is unreadable, since then the consumer could
/// not say where it stopped.
pub fn parse_item<E: DeserializeOwned + EventTypes>(value: serde_json::Value) -> Result<(i64, FeedItem<E>), String> {
    let id = value.get("id").and_then(serde_json::Value::as_i64).ok_or("an event without an integer id")?;
    // Without a `type` nobody can tell whether the event matters: never skip it.
    let Some(event_type) = value.get("type").and_then(serde_json::Value::as_str).map(str::to_owned) else {
        let error = "an event without a string `type`".to_owned();
        return Ok((id, FeedItem::Malformed { id, event_type: String::new(), error }));
    };
    if !E::TYPES.contains(&event_type.as_str()) {
        return Ok((id, FeedItem::Unknown { id, event_type }));
    }
    Ok(match serde_json::from_value::<E>(value) {
        Ok(event) => (id, FeedItem::Known(event)),
        Err(error) => (id, FeedItem::Malformed { id, event_type, error: error.to_string() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Liked {
        id: i64,
        data: Data,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Data {
        user_id: String,
    }

    impl EventTypes for Liked {
        const TYPES: &'static [&'static str] = &["liked"];
    }

    #[test]
    fn known_unknown_and_malformed_items_are_told_apart() {
        let page: EventPage<Liked> = serde_json::from_value(serde_json::json!({
            "items": [
                {"id": 1, "type": "liked", "data": {"user_id": "u1"}},
                {"id": 2, "type": "shared", "data": {}},
                {"id": 3, "type": "liked", "data": {"user": 5}},
            ],
            "next_after": 3,
            "last_id": 9,
        }))
        .unwrap();
        assert_eq!(page.items[0].1, FeedItem::Known(Liked { id: 1, data: Data { user_id: "u1".into() } }));
        assert_eq!(page.items[1].1, FeedItem::Unknown { id: 2, event_type: "shared".into() });
        assert!(matches!(&page.items[2].1, FeedItem::Malformed { id: 3, .. }));
        assert_eq!((page.next_after, page.last_id), (3, 9));
        let no_id = serde_json::from_value::<EventPage<Liked>>(serde_json::json!({
            "items": [{"type": "liked"}], "next_after": 0, "last_id": 0
        }));
        assert!(no_id.is_err());
        let untyped: EventPage<Liked> = serde_json::from_value(serde_json::json!({
            "items": [{"id": 4, "data": {}}], "next_after": 4, "last_id": 4
        }))
        .unwrap();
        assert!(matches!(&untyped.items[0].1, FeedItem::Malformed { id: 4, .. }), "an untyped event is never skipped");
    }
}
