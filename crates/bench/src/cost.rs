//! What a request costs: CPU time by process, and the database statements and commits it
//! takes. Throughput moves by a fifth between runs minutes apart on these machines; what a
//! request costs moves far less, so a change that makes a process cheaper, or saves a round
//! trip, shows here in every run.
//!
//! CPU comes from Linux's `/proc/<pid>/stat` (`utime`, `stime`, and for a server such as
//! PostgreSQL its children's: the live backends' own, and `cutime`/`cstime` for those that
//! exited, proc(5)); statements from `pg_stat_statements`, commits from `pg_stat_database`.

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A process whose CPU is counted: `name=pid`, or `name=pid+` to count its children too (a
/// PostgreSQL postmaster and its backends).
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub pid: u32,
    pub with_children: bool,
}

impl std::str::FromStr for Watched {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (name, pid) = spec.split_once('=').ok_or_else(|| format!("expected name=pid, got {spec}"))?;
        let (pid, with_children) = match pid.strip_suffix('+') {
            Some(pid) => (pid, true),
            None => (pid, false),
        };
        let pid = pid.parse().map_err(|_| format!("not a process id: {pid}"))?;
        Ok(Self { name: name.to_owned(), pid, with_children })
    }
}

/// CPU seconds each watched process (and the loader, as `loader`) had used at one instant, and
/// the statements and commits the database server had counted.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    cpu: BTreeMap<String, f64>,
    database: Option<DatabaseCounts>,
}

#[derive(Debug, Clone, Copy, QueryableByName)]
struct DatabaseCounts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    statements: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    commits: i64,
}

/// Samples the watched processes, the loader itself and the database server.
pub struct CostMeter {
    watched: Vec<Watched>,
    ticks_per_second: f64,
    /// A connection to a database with `pg_stat_statements` installed, when there is one.
    database: Option<Mutex<PgConnection>>,
}

impl CostMeter {
    /// Watches `watched`, and the server behind `statements_url` when given (a database where
    /// the `pg_stat_statements` extension exists).
    pub fn new(mut watched: Vec<Watched>, statements_url: Option<&str>) -> anyhow::Result<Self> {
        watched.push(Watched { name: "loader".into(), pid: std::process::id(), with_children: false });
        let database = statements_url.map(PgConnection::establish).transpose()?.map(Mutex::new);
        Ok(Self { watched, ticks_per_second: ticks_per_second(), database })
    }

    pub fn sample(&self) -> Sample {
        Sample { cpu: self.cpu(), database: self.database_counts() }
    }

    fn database_counts(&self) -> Option<DatabaseCounts> {
        let mut conn = self.database.as_ref()?.lock().ok()?;
        diesel::sql_query(
            "SELECT (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements)::bigint AS statements, \
                    (SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database)::bigint AS commits",
        )
        .get_result(&mut *conn)
        .ok()
    }

    fn cpu(&self) -> BTreeMap<String, f64> {
        let children = if self.watched.iter().any(|w| w.with_children) { parents() } else { Vec::new() };
        let seconds = |ticks: u64| ticks as f64 / self.ticks_per_second;
        self.watched
            .iter()
            .map(|watched| {
                let own = stat(watched.pid)
                    .map_or(0, |stat| stat.own + if watched.with_children { stat.reaped_children } else { 0 });
                let live_children: u64 = if watched.with_children {
                    children
                        .iter()
                        .filter(|(_, parent)| *parent == watched.pid)
                        .filter_map(|(pid, _)| stat(*pid))
                        .map(|s| s.own)
                        .sum()
                } else {
                    0
                };
                (watched.name.clone(), seconds(own + live_children))
            })
            .collect()
    }

    /// What a request cost, from what `requests` requests used: `{"cpu_us": {process: µs, ...,
    /// "all": µs}, "statements": n, "commits": n}`; `null` when nothing is watched or no request
    /// succeeded.
    pub fn per_request(&self, used: &Usage, requests: usize) -> Value {
        if requests == 0 || self.watched.len() <= 1 {
            return Value::Null;
        }
        let requests = requests as f64;
        let mut cpu = serde_json::Map::new();
        for (name, seconds) in &used.cpu {
            cpu.insert(name.clone(), json!((seconds * 1e6 / requests).round()));
        }
        cpu.insert("all".into(), json!((used.cpu.values().sum::<f64>() * 1e6 / requests).round()));
        let per = |count: Option<i64>| match count {
            Some(count) => json!((count as f64 / requests * 10.0).round() / 10.0),
            None => Value::Null,
        };
        json!({ "cpu_us": cpu, "statements": per(used.statements), "commits": per(used.commits) })
    }
}

/// What was used between two samples: CPU seconds by process, and the database's statements and
/// commits when counted. Usages add up, so a run measured in slices costs what its slices did.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    cpu: BTreeMap<String, f64>,
    statements: Option<i64>,
    commits: Option<i64>,
}

impl Usage {
    pub fn between(before: &Sample, after: &Sample) -> Self {
        let cpu = after
            .cpu
            .iter()
            .map(|(name, seconds)| (name.clone(), seconds - before.cpu.get(name).copied().unwrap_or(0.0)))
            .collect();
        let (before_db, after_db) = (before.database, after.database);
        let delta = |count: fn(&DatabaseCounts) -> i64| Some(count(&after_db?) - count(&before_db?));
        Self { cpu, statements: delta(|c| c.statements), commits: delta(|c| c.commits) }
    }
}

impl std::ops::AddAssign<&Usage> for Usage {
    fn add_assign(&mut self, other: &Usage) {
        for (name, seconds) in &other.cpu {
            *self.cpu.entry(name.clone()).or_default() += seconds;
        }
        let sum = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.statements = sum(self.statements, other.statements);
        self.commits = sum(self.commits, other.commits);
    }
}

/// One process's CPU in clock ticks: its own, and that of its children it has waited for.
struct Stat {
    own: u64,
    reaped_children: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 to 17 of proc(5): utime, stime, cutime, cstime; `fields[0]` is field 3.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Some(Stat { own: field(14) + field(15), reaped_children: field(16) + field(17) })
}

/// Every process with its parent.
fn parents() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let parent = text.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, parent))
        })
        .collect()
}

/// `USER_HZ`, the unit of `/proc/<pid>/stat`'s times: 100 on every common Linux build.
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}
