//! Hand-written PostgreSQL statements that the server prepares once per connection.
//!
//! diesel prepares and caches the statements of its query builder, but never raw SQL
//! (`sql_query`), `UPDATE`s, upserts or `IN` lists: those are parsed and planned again on every
//! execution, and on a busy write path planning costs the database more than running them. A
//! [`Statement`] is raw SQL that diesel caches by its text, so the statements on every write's
//! path (the event insert, the counts update, the visibility horizon) are parsed once per
//! connection, and planned again only where PostgreSQL finds a custom plan worth it.
//!
//! ```ignore
//! let counts: Vec<Row> = Statement::new("UPDATE entities SET likes = likes + $2 WHERE id = $1 RETURNING likes")
//!     .bind::<Text, _>(id.to_owned())
//!     .bind::<BigInt, _>(1)
//!     .load(pg)?;
//! ```

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{PgConnection, QueryResult, RunQueryDsl};
use std::marker::PhantomData;

/// Raw SQL with `$1`, `$2`, ... placeholders and their values, cached by diesel as a prepared
/// statement on each connection (unlike `diesel::sql_query`). A placeholder may appear more
/// than once; each number must have a value ([`Statement::bind`], in order).
pub struct Statement {
    sql: &'static str,
    binds: Vec<Box<dyn Bind>>,
    planned_each_time: bool,
}

impl Statement {
    pub fn new(sql: &'static str) -> Self {
        Self { sql, binds: Vec::new(), planned_each_time: false }
    }

    /// The same statement, sent unprepared, so PostgreSQL plans it for each execution with the
    /// table as it is then. For reads whose best plan depends on how large a table has grown: a
    /// prepared statement's generic plan is made once, and for a range read on a table that was
    /// empty when it was made (an event log at start) it is a sequential scan, which stays in
    /// use until something invalidates it while the table grows by the million.
    pub fn planned_each_time(mut self) -> Self {
        self.planned_each_time = true;
        self
    }

    /// Gives the next placeholder (`$1` first) its value, as SQL type `ST`.
    pub fn bind<ST, V>(mut self, value: V) -> Self
    where
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + 'static,
        ST: Send + 'static,
    {
        self.binds.push(Box::new(Typed::<ST, V>(value, PhantomData)));
        self
    }
}

/// A filter that is always true and keeps diesel from preparing the query it is added to (raw
/// SQL is never prepared), so PostgreSQL plans that query for the tables as they are at each
/// execution: the query builder's form of [`Statement::planned_each_time`], for reads of
/// tables that start empty and grow by the million (an event log, a delivery queue).
pub fn planned_each_time() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("TRUE")
}

/// One placeholder's value.
trait Bind: Send {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, V>(V, PhantomData<fn() -> ST>);

impl<ST, V> Bind for Typed<ST, V>
where
    Pg: HasSqlType<ST>,
    V: ToSql<ST, Pg> + Send,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, V>(&self.0)
    }
}

impl QueryFragment<Pg> for Statement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Cached (prepared once per connection, keyed by the resulting text) unless it is to be
        // planned each time.
        if self.planned_each_time {
            out.unsafe_to_cache_prepared();
        }
        // diesel numbers placeholders itself as binds are pushed, so the text is cut at each
        // `$n` and the n-th value pushed in its place.
        let mut rest = self.sql;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                out.push_sql(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
            out.push_sql(&rest[..at]);
            let number: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            let bind = number.checked_sub(1).and_then(|index| self.binds.get(index)).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(format!("no value for ${number} in {}", self.sql).into())
            })?;
            bind.push(&mut out)?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl QueryId for Statement {
    type QueryId = ();
    // Not static: the cache is keyed by the SQL text instead, one entry per statement.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for Statement {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{BigInt, Text};

    #[test]
    fn a_statement_planned_each_time_is_never_prepared() {
        let cached = |fragment: &dyn QueryFragment<Pg>| fragment.is_safe_to_cache_prepared(&Pg).unwrap();
        assert!(cached(&Statement::new("SELECT 1")), "a statement is prepared once per connection");
        assert!(!cached(&Statement::new("SELECT 1").planned_each_time()));
        let select = diesel::select(planned_each_time());
        assert!(!cached(&select), "the query builder's form keeps a query from being prepared too");
    }

    #[test]
    fn placeholders_become_binds_in_order_and_may_repeat() {
        let statement = Statement::new("SELECT $2::text, $1, $2, '$' || 'x'")
            .bind::<BigInt, _>(7_i64)
            .bind::<Text, _>("seven".to_owned());
        let sql = diesel::debug_query::<Pg, _>(&statement).to_string();
        assert!(sql.starts_with("SELECT $1::text, $2, $3, '$' || 'x'"), "{sql}");
        assert!(sql.contains("binds: [\"seven\", 7, \"seven\"]"), "{sql}");
    }
}
