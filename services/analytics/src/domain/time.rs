//! Time for rollups and queries: 15-minute buckets, the intervals of a query in an IANA time
//! zone, and how an interval is covered by stored buckets.
//!
//! Every real UTC offset is a multiple of 15 minutes, so a local hour, day, week or month
//! always starts on a 15-minute boundary in UTC: 15-minute buckets build any of them exactly,
//! in any zone (Asia/Kolkata, +05:30, and Asia/Kathmandu, +05:45, included). Distinct-user
//! sketches are kept at a second grain, the UTC day, so that long intervals merge a few day
//! sketches and only their ragged edges in quarters. Instants are Unix seconds.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The finest grain: 15 minutes, in seconds.
pub const QUARTER: i64 = 900;
/// The coarse grain of distinct-user sketches: a UTC day, in seconds.
pub const DAY: i64 = 86_400;

/// The start of the `grain`-second bucket holding `at` (Unix seconds).
pub fn bucket(at: i64, grain: i64) -> i64 {
    at.div_euclid(grain) * grain
}

/// The width of one point of a metric query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
    /// ISO 8601 weeks: Monday to Monday.
    Week,
    Month,
}

/// One interval, `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

/// A query whose range holds more intervals than a query may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the range holds more than {max} intervals; choose a coarser interval or a shorter range")]
pub struct TooManyIntervals {
    pub max: usize,
}

/// The intervals, in `tz`, that cover `[from, to)`: the first is the one holding `from`, the
/// last the one holding the instant before `to`. Local days, weeks and months follow the
/// zone's calendar, so across a DST change a day lasts 23 or 25 hours and is still one day.
/// Hours are the zone's clock hours.
pub fn intervals(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
    tz: Tz,
    max: usize,
) -> Result<Vec<Span>, TooManyIntervals> {
    let end = to.timestamp();
    let mut spans = Vec::new();
    let local = from.with_timezone(&tz).naive_local();
    let mut start_local = align(local, interval);
    let mut start = match interval {
        // The clock hour holding `from` itself: during a repeated hour the local time names two
        // instants, and `from` says which.
        Interval::Hour => from.timestamp() - i64::from(local.minute() * 60 + local.second()),
        _ => instant(tz, start_local),
    };
    while start < end {
        if spans.len() == max {
            return Err(TooManyIntervals { max });
        }
        let next = match interval {
            // A clock hour is 3,600 s in any zone whose offsets differ by whole hours, so
            // stepping in UTC keeps hours whole across DST changes (a local step would make
            // the repeated hour of autumn two hours long).
            Interval::Hour => start + 3_600,
            _ => {
                start_local = step(start_local, interval);
                instant(tz, start_local)
            }
        };
        spans.push(Span { start, end: next });
        start = next;
    }
    Ok(spans)
}

/// The start of the local interval holding `local`.
fn align(local: NaiveDateTime, interval: Interval) -> NaiveDateTime {
    let date = local.date();
    let day = |date: NaiveDate| date.and_hms_opt(0, 0, 0).unwrap_or(local);
    match interval {
        Interval::Hour => day(date) + Duration::hours(i64::from(local.hour())),
        Interval::Day => day(date),
        Interval::Week => day(date - Duration::days(i64::from(date.weekday().num_days_from_monday()))),
        Interval::Month => day(date.with_day(1).unwrap_or(date)),
    }
}

/// The next local interval's start after `start_local`.
fn step(start_local: NaiveDateTime, interval: Interval) -> NaiveDateTime {
    match interval {
        Interval::Hour => start_local + Duration::hours(1),
        Interval::Day => start_local + Duration::days(1),
        Interval::Week => start_local + Duration::days(7),
        Interval::Month => start_local.checked_add_months(chrono::Months::new(1)).unwrap_or(start_local),
    }
}

/// The instant a local time names: the earlier one when the clock shows it twice, and the
/// first instant after the gap when the clock skips it (a DST change at midnight).
fn instant(tz: Tz, local: NaiveDateTime) -> i64 {
    let mut probe = local;
    for _ in 0..16 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => return at.timestamp(),
            LocalResult::None => probe += Duration::minutes(15),
        }
    }
    local.and_utc().timestamp()
}

/// How the stored buckets cover one span: whole UTC days in the middle, quarters at the edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    /// `[start, end)` ranges of quarter buckets.
    pub quarters: Vec<Span>,
    /// `[start, end)` of day buckets, when the span holds a whole UTC day.
    pub days: Option<Span>,
}

/// Covers `span` with the fewest buckets: every whole UTC day inside it as a day, the rest as
/// quarters.
pub fn cover(span: Span) -> Cover {
    let first_day = span.start.div_euclid(DAY) * DAY + if span.start.rem_euclid(DAY) == 0 { 0 } else { DAY };
    let last_day = bucket(span.end, DAY);
    if first_day >= last_day {
        return Cover { quarters: vec![span], days: None };
    }
    let quarters = [Span { start: span.start, end: first_day }, Span { start: last_day, end: span.end }]
        .into_iter()
        .filter(|edge| edge.start < edge.end)
        .collect();
    Cover { quarters, days: Some(Span { start: first_day, end: last_day }) }
}

/// Joins touching or overlapping spans (in order), so each stretch is read once.
pub fn runs(spans: impl Iterator<Item = Span>) -> Vec<Span> {
    let mut runs: Vec<Span> = Vec::new();
    for span in spans {
        match runs.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => runs.push(span),
        }
    }
    runs
}

/// The whole-day runs and quarter runs that cover `spans` (contiguous, in order).
pub fn coverage(spans: &[Span]) -> (Vec<Span>, Vec<Span>) {
    let covers: Vec<Cover> = spans.iter().map(|span| cover(*span)).collect();
    let days = runs(covers.iter().filter_map(|c| c.days));
    let quarters = runs(covers.iter().flat_map(|c| c.quarters.iter().copied()));
    (days, quarters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn spans(from: &str, to: &str, interval: Interval, tz: &str) -> Vec<(String, i64)> {
        let tz: Tz = tz.parse().unwrap();
        intervals(at(from), at(to), interval, tz, 1_000)
            .unwrap()
            .into_iter()
            .map(|span| {
                let start = DateTime::from_timestamp(span.start, 0).unwrap().with_timezone(&tz).to_rfc3339();
                (start, (span.end - span.start) / 60)
            })
            .collect()
    }

    #[test]
    fn local_days_start_mid_hour_in_kolkata_and_kathmandu() {
        let kolkata = spans("2026-11-29T20:00:00Z", "2026-11-30T20:00:00Z", Interval::Day, "Asia/Kolkata");
        assert_eq!(
            kolkata,
            vec![("2026-11-30T00:00:00+05:30".to_owned(), 1_440), ("2026-12-01T00:00:00+05:30".to_owned(), 1_440)]
        );
        let kathmandu = intervals(
            at("2026-11-30T00:00:00Z"),
            at("2026-11-30T00:00:01Z"),
            Interval::Day,
            "Asia/Kathmandu".parse().unwrap(),
            10,
        )
        .unwrap();
        // Local midnight of 30 November is 18:15 UTC on the 29th.
        assert_eq!(
            kathmandu,
            vec![Span { start: at("2026-11-29T18:15:00Z").timestamp(), end: at("2026-11-30T18:15:00Z").timestamp() }]
        );
        assert_eq!(kathmandu[0].start % QUARTER, 0);
    }

    #[test]
    fn a_dst_day_is_one_day_of_23_or_25_hours() {
        // Europe/Berlin: clocks go forward on 29 March 2026 and back on 25 October 2026.
        let spring = spans("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", Interval::Day, "Europe/Berlin");
        assert_eq!(spring.iter().map(|(_, minutes)| minutes / 60).collect::<Vec<_>>(), vec![24, 23, 24]);
        let autumn = spans("2026-10-25T00:00:00Z", "2026-10-25T12:00:00Z", Interval::Day, "Europe/Berlin");
        assert_eq!(autumn, vec![("2026-10-25T00:00:00+02:00".to_owned(), 25 * 60)]);
        // The repeated hour is two hours of the clock, each an hour long.
        let hours = spans("2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", Interval::Hour, "Europe/Berlin");
        assert_eq!(
            hours,
            vec![("2026-10-25T02:00:00+02:00".to_owned(), 60), ("2026-10-25T02:00:00+01:00".to_owned(), 60)]
        );
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-12-02 is a Wednesday.
        let weeks = spans("2026-12-02T10:00:00Z", "2026-12-10T00:00:00Z", Interval::Week, "UTC");
        assert_eq!(
            weeks,
            vec![
                ("2026-11-30T00:00:00+00:00".to_owned(), 7 * 1_440),
                ("2026-12-07T00:00:00+00:00".to_owned(), 7 * 1_440)
            ]
        );
        let months = spans("2026-02-15T00:00:00Z", "2026-03-02T00:00:00Z", Interval::Month, "America/New_York");
        assert_eq!(
            months.iter().map(|(start, _)| start.as_str()).collect::<Vec<_>>(),
            vec!["2026-02-01T00:00:00-05:00", "2026-03-01T00:00:00-05:00"]
        );
        assert_eq!(months[0].1, 28 * 1_440);
    }

    #[test]
    fn too_many_intervals_is_refused() {
        let refused = intervals(at("2026-01-01T00:00:00Z"), at("2026-03-01T00:00:00Z"), Interval::Hour, Tz::UTC, 1_000);
        assert_eq!(refused, Err(TooManyIntervals { max: 1_000 }));
    }

    #[test]
    fn touching_spans_are_read_as_one() {
        let span = |start, end| Span { start, end };
        let joined = runs([span(0, 10), span(10, 20), span(30, 40), span(35, 50)].into_iter());
        assert_eq!(joined, vec![span(0, 20), span(30, 50)]);
    }

    #[test]
    fn a_span_is_covered_by_whole_days_and_edge_quarters() {
        let day = |n: i64| n * DAY;
        let span = Span { start: day(10) - 5 * QUARTER, end: day(13) + 2 * QUARTER };
        let covered = cover(span);
        assert_eq!(covered.days, Some(Span { start: day(10), end: day(13) }));
        assert_eq!(
            covered.quarters,
            vec![
                Span { start: day(10) - 5 * QUARTER, end: day(10) },
                Span { start: day(13), end: day(13) + 2 * QUARTER }
            ]
        );
        let inside = Span { start: day(10) + QUARTER, end: day(11) - QUARTER };
        assert_eq!(cover(inside), Cover { quarters: vec![inside], days: None });
        let exact = Span { start: day(10), end: day(11) };
        assert_eq!(cover(exact), Cover { quarters: vec![], days: Some(exact) });
    }
}
