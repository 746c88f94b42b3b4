//! Alert rules, their firings, and the deliveries that announce them.

use chorus_kit::db::{DbConnection, DbError, written};
use chorus_kit::webhooks::{Claimed, DeliveryStatus};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::schema::{alert_deliveries, alert_firings, alert_rules};
use crate::domain::alerts::{AlertDelivery, Channel, Condition, Firing, FiringKind, Rule, RuleBroadcast};

#[derive(Queryable, Selectable)]
#[diesel(table_name = alert_rules)]
struct RuleRow {
    id: String,
    app_id: String,
    metric: String,
    condition: String,
    threshold: i64,
    window_seconds: i64,
    webhook_url: Option<String>,
    broadcast: Option<String>,
    firing: bool,
    last_value: Option<i64>,
    evaluated_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl From<RuleRow> for Rule {
    fn from(row: RuleRow) -> Self {
        Rule {
            id: row.id,
            app_id: row.app_id,
            metric: row.metric,
            condition: Condition::parse(&row.condition),
            threshold: row.threshold,
            window_seconds: row.window_seconds,
            webhook_url: row.webhook_url,
            // Written only from a validated broadcast.
            broadcast: row.broadcast.and_then(|json| serde_json::from_str::<RuleBroadcast>(&json).ok()),
            firing: row.firing,
            last_value: row.last_value,
            evaluated_at: row.evaluated_at.map(|at| at.and_utc()),
            created_at: row.created_at.and_utc(),
        }
    }
}

pub fn insert(conn: &mut DbConnection, rule: &Rule) -> Result<Rule, DbError> {
    diesel::insert_into(alert_rules::table)
        .values((
            alert_rules::id.eq(&rule.id),
            alert_rules::app_id.eq(&rule.app_id),
            alert_rules::metric.eq(&rule.metric),
            alert_rules::condition.eq(rule.condition.as_str()),
            alert_rules::threshold.eq(rule.threshold),
            alert_rules::window_seconds.eq(rule.window_seconds),
            alert_rules::webhook_url.eq(&rule.webhook_url),
            alert_rules::broadcast.eq(rule.broadcast.as_ref().map(|b| serde_json::to_string(b).unwrap_or_default())),
            alert_rules::firing.eq(false),
            alert_rules::created_at.eq(rule.created_at.naive_utc()),
        ))
        .execute(conn)?;
    written(find(conn, &rule.app_id, &rule.id)?)
}

pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<Rule>, DbError> {
    let row: Option<RuleRow> = alert_rules::table
        .filter(alert_rules::id.eq(id).and(alert_rules::app_id.eq(app_id)))
        .select(RuleRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Rule::from))
}

/// An app's rules, oldest first, after the id `after`.
pub fn of_app(conn: &mut DbConnection, app_id: &str, after: Option<&str>, limit: i64) -> Result<Vec<Rule>, DbError> {
    let mut query = alert_rules::table
        .filter(alert_rules::app_id.eq(app_id))
        .select(RuleRow::as_select())
        .order(alert_rules::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(alert_rules::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(Rule::from).collect())
}

/// Serializes the app's rule creations until the transaction ends, so two creations cannot both
/// pass the rule limit (PostgreSQL; SQLite has one writer).
pub fn lock_app_rules(conn: &mut DbConnection, app_id: &str) -> Result<(), DbError> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('alert_rules:' || $1))")
            .bind::<diesel::sql_types::Text, _>(app_id)
            .execute(pg)?;
    }
    Ok(())
}

pub fn count_of_app(conn: &mut DbConnection, app_id: &str) -> Result<i64, DbError> {
    Ok(alert_rules::table.filter(alert_rules::app_id.eq(app_id)).count().get_result(conn)?)
}

/// Every app's rules, by id after `after`: what the evaluator walks.
pub fn page(conn: &mut DbConnection, after: &str, limit: i64) -> Result<Vec<Rule>, DbError> {
    Ok(alert_rules::table
        .filter(alert_rules::id.gt(after))
        .select(RuleRow::as_select())
        .order(alert_rules::id.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(Rule::from)
        .collect())
}

pub fn delete(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<bool, DbError> {
    let deleted = diesel::delete(alert_rules::table.filter(alert_rules::id.eq(id).and(alert_rules::app_id.eq(app_id))))
        .execute(conn)?;
    Ok(deleted > 0)
}

/// Records an evaluation; when `firing` differs from `was_firing`, only if no other evaluator
/// changed the state first (answers whether this one did).
pub fn evaluated(
    conn: &mut DbConnection,
    id: &str,
    was_firing: bool,
    firing: bool,
    value: i64,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let updated =
        diesel::update(alert_rules::table.filter(alert_rules::id.eq(id).and(alert_rules::firing.eq(was_firing))))
            .set((alert_rules::firing.eq(firing), alert_rules::last_value.eq(value), alert_rules::evaluated_at.eq(at)))
            .execute(conn)?;
    Ok(updated == 1)
}

pub fn insert_firing(conn: &mut DbConnection, firing: &Firing) -> Result<(), DbError> {
    diesel::insert_into(alert_firings::table)
        .values((
            alert_firings::id.eq(&firing.id),
            alert_firings::rule_id.eq(&firing.rule_id),
            alert_firings::app_id.eq(&firing.app_id),
            alert_firings::kind.eq(firing.kind.as_str()),
            alert_firings::value.eq(firing.value),
            alert_firings::threshold.eq(firing.threshold),
            alert_firings::occurred_at.eq(firing.occurred_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

type FiringRow = (String, String, String, String, i64, i64, NaiveDateTime);

fn to_firing((id, rule_id, app_id, kind, value, threshold, occurred_at): FiringRow) -> Firing {
    Firing { id, rule_id, app_id, kind: FiringKind::parse(&kind), value, threshold, occurred_at: occurred_at.and_utc() }
}

/// An app's firings and recoveries, newest first, of one rule or all, before the id `before`.
pub fn firings(
    conn: &mut DbConnection,
    app_id: &str,
    rule_id: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Firing>, DbError> {
    let mut query = alert_firings::table
        .filter(alert_firings::app_id.eq(app_id))
        .select((
            alert_firings::id,
            alert_firings::rule_id,
            alert_firings::app_id,
            alert_firings::kind,
            alert_firings::value,
            alert_firings::threshold,
            alert_firings::occurred_at,
        ))
        .order(alert_firings::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(rule_id) = rule_id {
        query = query.filter(alert_firings::rule_id.eq(rule_id.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(alert_firings::id.lt(before.to_owned()));
    }
    Ok(query.load::<FiringRow>(conn)?.into_iter().map(to_firing).collect())
}

/// One announcement to queue.
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub firing: &'a Firing,
    pub event_type: &'a str,
    pub channel: Channel,
    pub url: Option<&'a str>,
    pub payload: &'a str,
}

pub fn enqueue(conn: &mut DbConnection, new: &NewDelivery<'_>) -> Result<(), DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(alert_deliveries::table)
        .values((
            alert_deliveries::id.eq(new.id),
            alert_deliveries::app_id.eq(&new.firing.app_id),
            alert_deliveries::rule_id.eq(&new.firing.rule_id),
            alert_deliveries::firing_id.eq(&new.firing.id),
            alert_deliveries::event_type.eq(new.event_type),
            alert_deliveries::channel.eq(new.channel.as_str()),
            alert_deliveries::url.eq(new.url),
            alert_deliveries::payload.eq(new.payload),
            alert_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            alert_deliveries::attempts.eq(0),
            alert_deliveries::next_attempt_at.eq(now),
            alert_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A due delivery: id, rule, url, firing, event type, payload, attempts.
type DueRow = (String, String, Option<String>, String, String, String, i32);

/// Claims up to `limit` due deliveries of `channel`, pushing their next attempt `lease` ahead so
/// other replicas leave them alone. The rule's id signs a webhook.
fn claim_due(conn: &mut DbConnection, channel: Channel, lease: TimeDelta, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let now = chorus_kit::db::now();
    let due: Vec<DueRow> = alert_deliveries::table
        .filter(alert_deliveries::channel.eq(channel.as_str()))
        .filter(alert_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(alert_deliveries::next_attempt_at.le(now))
        .order(alert_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((
            alert_deliveries::id,
            alert_deliveries::rule_id,
            alert_deliveries::url,
            alert_deliveries::firing_id,
            alert_deliveries::event_type,
            alert_deliveries::payload,
            alert_deliveries::attempts,
        ))
        .load(conn)?;
    let mut claimed = Vec::with_capacity(due.len());
    for (id, rule_id, url, firing_id, event_type, payload, attempts) in due {
        let taken = diesel::update(
            alert_deliveries::table.filter(alert_deliveries::id.eq(&id).and(alert_deliveries::next_attempt_at.le(now))),
        )
        .set(alert_deliveries::next_attempt_at.eq(now + lease))
        .execute(conn)?;
        if taken == 1 {
            let url = url.unwrap_or_default();
            claimed.push(Claimed { id, endpoint_id: rule_id, url, event_id: firing_id, event_type, payload, attempts });
        }
    }
    Ok(claimed)
}

pub fn claim_due_webhooks(conn: &mut DbConnection, lease: TimeDelta, limit: i64) -> Result<Vec<Claimed>, DbError> {
    claim_due(conn, Channel::Webhook, lease, limit)
}

pub fn claim_due_broadcasts(conn: &mut DbConnection, lease: TimeDelta, limit: i64) -> Result<Vec<Claimed>, DbError> {
    claim_due(conn, Channel::Broadcast, lease, limit)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = alert_deliveries)]
struct DeliveryRow {
    id: String,
    rule_id: String,
    firing_id: String,
    event_type: String,
    channel: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

impl From<DeliveryRow> for AlertDelivery {
    fn from(row: DeliveryRow) -> Self {
        AlertDelivery {
            id: row.id,
            rule_id: row.rule_id,
            firing_id: row.firing_id,
            event_type: row.event_type,
            channel: Channel::parse(&row.channel),
            status: DeliveryStatus::parse(&row.status),
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            delivered_at: row.delivered_at.map(|at| at.and_utc()),
        }
    }
}

/// A rule's deliveries, newest first, before the id `before`.
pub fn deliveries(
    conn: &mut DbConnection,
    app_id: &str,
    rule_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AlertDelivery>, DbError> {
    let mut query = alert_deliveries::table
        .filter(alert_deliveries::app_id.eq(app_id).and(alert_deliveries::rule_id.eq(rule_id)))
        .select(DeliveryRow::as_select())
        .order(alert_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(alert_deliveries::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(AlertDelivery::from).collect())
}

chorus_kit::delivery_store!(alert_deliveries);

/// Takes an erased user out of the app's alert broadcasts: out of each rule's recipients (a
/// broadcast left with none is dropped from its rule) and out of every queued or sent broadcast
/// request (one left with none is deleted).
pub fn forget_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), DbError> {
    let rules: Vec<(String, String)> = alert_rules::table
        .filter(alert_rules::app_id.eq(app_id))
        .filter(alert_rules::broadcast.like(format!("%{}%", chorus_kit::db::like_escape(user_id))).escape('\\'))
        .select((alert_rules::id, alert_rules::broadcast.assume_not_null()))
        .load(conn)?;
    for (id, broadcast) in rules {
        let Ok(mut broadcast) = serde_json::from_str::<RuleBroadcast>(&broadcast) else { continue };
        let Some(users) = broadcast.user_ids.as_mut() else { continue };
        users.retain(|user| user != user_id);
        let kept = (!users.is_empty()).then(|| serde_json::to_string(&broadcast).unwrap_or_default());
        diesel::update(alert_rules::table.find(&id)).set(alert_rules::broadcast.eq(kept)).execute(conn)?;
    }
    let requests: Vec<(String, String)> = alert_deliveries::table
        .filter(alert_deliveries::app_id.eq(app_id).and(alert_deliveries::channel.eq(Channel::Broadcast.as_str())))
        .filter(alert_deliveries::payload.like(format!("%{}%", chorus_kit::db::like_escape(user_id))).escape('\\'))
        .select((alert_deliveries::id, alert_deliveries::payload))
        .load(conn)?;
    for (id, payload) in requests {
        let Ok(mut request) = serde_json::from_str::<serde_json::Value>(&payload) else { continue };
        let Some(users) = request.pointer_mut("/audience/user_ids").and_then(|users| users.as_array_mut()) else {
            continue;
        };
        users.retain(|user| user.as_str() != Some(user_id));
        if users.is_empty() {
            diesel::delete(alert_deliveries::table.find(&id)).execute(conn)?;
        } else {
            diesel::update(alert_deliveries::table.find(&id))
                .set(alert_deliveries::payload.eq(request.to_string()))
                .execute(conn)?;
        }
    }
    Ok(())
}
