//! Cursor pagination: every list takes an opaque `cursor` and a `limit` (at most 100) and answers
//! with `next_cursor`, null on the last page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::problem::Problem;

/// Declares a list's page type, the one envelope every list answers with: `items`, and
/// `next_cursor` for the next page (null on the last). The name is the schema's name in the
/// spec, so each list keeps its own.
///
/// ```ignore
/// chorus_kit::list_page!(
///     /// A page of actions.
///     ActionList of Action
/// );
/// ```
#[macro_export]
macro_rules! list_page {
    ($(#[$meta:meta])* $name:ident of $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
const CURSOR_VERSION: &str = "c1:";

/// The query parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page; omit it for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A validated page request: the sort key to continue after, and how many items to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(Page { after, limit })
    }
}

impl Page {
    /// The cursor of a list sorted by two keys (such as total, then id), written as
    /// `<first>|<second>` by [`Page::finish`].
    pub fn after_pair(&self) -> Result<Option<(String, String)>, Problem> {
        self.after
            .as_deref()
            .map(|cursor| {
                cursor
                    .split_once('|')
                    .map(|(first, second)| (first.to_owned(), second.to_owned()))
                    .ok_or_else(|| Problem::invalid("cursor", "is not a cursor this service issued"))
            })
            .transpose()
    }

    /// Rows to fetch: one more than the limit, to learn whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Trims a fetched batch to the page and returns the cursor of the next page, if any.
    pub fn finish<T>(&self, items: &mut Vec<T>, sort_key: impl Fn(&T) -> String) -> Option<String> {
        if items.len() <= self.limit as usize {
            return None;
        }
        items.truncate(self.limit as usize);
        items.last().map(|last| encode_cursor(&sort_key(last)))
    }
}

pub fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{sort_key}"))
}

pub fn decode_cursor(cursor: &str) -> Result<String, Problem> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_VERSION).map(str::to_owned))
        .ok_or_else(|| Problem::invalid("cursor", "is not a cursor this service issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = encode_cursor("2026-01-01T00:00:00|u42");
        assert_eq!(decode_cursor(&cursor).unwrap(), "2026-01-01T00:00:00|u42");
        assert_eq!(decode_cursor("!!").unwrap_err().errors[0].field, "cursor");
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("other")).is_err());
    }

    #[test]
    fn pair_cursors_split_or_are_refused() {
        let page = Page { after: Some("7|abc".into()), limit: 2 };
        assert_eq!(page.after_pair().unwrap(), Some(("7".into(), "abc".into())));
        let bad = Page { after: Some("no-bar".into()), limit: 2 };
        assert_eq!(bad.after_pair().unwrap_err().errors[0].field, "cursor");
        assert_eq!(Page { after: None, limit: 2 }.after_pair().unwrap(), None);
    }

    #[test]
    fn limits_are_bounded() {
        let query = PageQuery { cursor: None, limit: Some(101) };
        assert_eq!(query.page().unwrap_err().errors[0].field, "limit");
        assert_eq!(PageQuery::default().page().unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn finish_reports_a_next_page_only_when_one_exists() {
        let page = Page { after: None, limit: 2 };
        let mut items = vec![1, 2, 3];
        let next = page.finish(&mut items, |i| i.to_string());
        assert_eq!(items, vec![1, 2]);
        assert_eq!(decode_cursor(&next.unwrap()).unwrap(), "2");
        let mut items = vec![1, 2];
        assert_eq!(page.finish(&mut items, |i| i.to_string()), None);
    }
}
