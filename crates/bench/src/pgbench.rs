//! The write path's ceiling as pgbench runs it: a comment as the actions service sends it, built
//! from the service's own statement ([`ACT_BY_KEY`]) and event payload
//! ([`ops::announcement`]), so that what pgbench measures cannot drift from what the service
//! sends. `cargo xtask bench --db postgres` runs it (`chorus-bench --pgbench-comment <app>`).

use chorus_actions::domain::model::ActionKind;
use chorus_actions::domain::ops;
use chorus_actions::store::actions::{ACT_BY_KEY, NewActionByKey, event_placeholders};

/// What the bench's comments say, as the loader's do.
const TEXT: &str = "a comment from the bench";

/// The pgbench command for one comment by user `pgbench-user-:u` on the seeded entity with key
/// `entity-:e` of the app: [`ACT_BY_KEY`] with each `$n` replaced by the SQL of the value the
/// service binds there, in the order `insert_counted_by_key` binds them. The script sets `:e`
/// and `:u` per transaction (`\set`); run it in the prepared protocol, as the service does.
pub fn comment_as_sent(app_id: &str) -> String {
    let (key, user) = ("'entity-' || :e", "'pgbench-user-' || :u");
    // The payload the service would publish, of its size and shape, for a key and user of the
    // seed's lengths; its placeholders are filled in by the statement itself.
    let new = NewActionByKey {
        app_id,
        entity_key: "entity-1",
        user_id: "01JDZ8Q3W4C5V6B7N8M9K0J1H3",
        kind: ActionKind::Comment,
        body: Some(TEXT),
        medium: None,
    };
    let event = ops::announcement("01JDZ8Q3W4C5V6B7N8M9K0J1H2", &new, chorus_kit::db::now())
        .expect("the bench's text holds no placeholder");
    let mut values = vec![
        "gen_random_uuid()::text".to_owned(),
        literal(app_id),
        format!("encode(sha256(convert_to({key}, 'UTF8')), 'hex')"),
        user.to_owned(),
        literal(ActionKind::Comment.as_str()),
        literal(TEXT),
        "NULL".to_owned(),
        "NULL".to_owned(),
        "(now() AT TIME ZONE 'UTC')".to_owned(),
        // A comment's delta: likes, comments, shares, views, total.
        "0".to_owned(),
        "1".to_owned(),
        "0".to_owned(),
        "0".to_owned(),
        "1".to_owned(),
        literal(event.event_type()),
        literal(event.data()),
    ];
    values.extend(event_placeholders().iter().map(|placeholder| literal(placeholder)));
    format!("{};", substitute(ACT_BY_KEY, &values))
}

/// `sql` with each `$n` replaced by `values[n - 1]`.
///
/// # Panics
/// When a placeholder has no value, or a value no placeholder: the statement changed its
/// parameters and [`comment_as_sent`] must follow.
fn substitute(sql: &str, values: &[String]) -> String {
    let mut out = String::with_capacity(sql.len() * 2);
    let mut used = vec![false; values.len()];
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..at]);
        if digits == 0 {
            out.push('$');
            rest = &rest[at + 1..];
            continue;
        }
        let number: usize = rest[at + 1..at + 1 + digits].parse().expect("digits");
        let value = values.get(number - 1).unwrap_or_else(|| panic!("no value for ${number}"));
        used[number - 1] = true;
        out.push_str(value);
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    let unused: Vec<usize> = used.iter().enumerate().filter(|(_, used)| !**used).map(|(i, _)| i + 1).collect();
    assert!(unused.is_empty(), "values for parameters the statement no longer has: {unused:?}");
    out
}

/// A string constant for a pgbench script: an escape string (`E'…'`) with its quotes and
/// backslashes escaped, and its colons as `\x3a`, since pgbench reads `:name` as a variable.
fn literal(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('\'', "''").replace(':', "\\x3a");
    format!("E'{escaped}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_of_the_services_statement_gets_its_value() {
        let script = comment_as_sent("app-1");
        assert!(!script.contains('$'), "a placeholder is left: {script}");
        assert!(script.starts_with("WITH target AS (SELECT id FROM entities WHERE app_id = E'app-1'"), "{script}");
        assert!(script.contains("INSERT INTO chorus_events"), "the event is published in the same statement");
        assert!(script.contains("action.created"));
        // pgbench's variables, and no other colon outside the casts.
        let without_casts = script.replace("::", "");
        let variables: Vec<&str> = without_casts.match_indices(':').map(|(at, _)| &without_casts[at..at + 2]).collect();
        assert!(variables.iter().all(|v| *v == ":e" || *v == ":u"), "{variables:?}");
    }

    #[test]
    fn a_literal_survives_quotes_backslashes_and_colons() {
        assert_eq!(literal(r#"{"a":"it's \ here"}"#), r#"E'{"a"\x3a"it''s \\ here"}'"#);
    }

    #[test]
    #[should_panic(expected = "no value for $3")]
    fn a_new_parameter_fails_loudly() {
        substitute("SELECT $1, $3", &["1".to_owned(), "2".to_owned()]);
    }

    #[test]
    #[should_panic(expected = "no longer has")]
    fn a_dropped_parameter_fails_loudly() {
        substitute("SELECT $1", &["1".to_owned(), "2".to_owned()]);
    }
}
