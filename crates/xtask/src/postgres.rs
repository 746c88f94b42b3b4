//! A throwaway PostgreSQL server for the test run: `initdb` and `pg_ctl` in a temp dir on a free
//! port, stopped when dropped, even when tests fail.

use anyhow::{Context, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ThrowawayPostgres {
    bin: PathBuf,
    data_dir: PathBuf,
    run_as: Option<&'static str>,
    /// The server's files, and the directory of its Unix socket.
    _dir: tempfile::TempDir,
    port: u16,
    pub url: String,
}

/// initdb refuses to run as root, so as root the server runs as the `postgres` system user.
const UNPRIVILEGED_USER: &str = "postgres";

/// How a throwaway server treats commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync off: tests want speed, not crash safety.
    Fast,
    /// Every commit is flushed, as in production, so group commit has work to do (benchmarks).
    Durable,
}

/// The durable server's memory: shared buffers that hold the bench's whole data set (about a
/// gigabyte once seeded), a quarter of a small production machine's memory.
const DURABLE_MEMORY: &str = "-c shared_buffers=2GB";

impl ThrowawayPostgres {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Durability::Fast)
    }

    pub fn start_with(durability: Durability) -> anyhow::Result<Self> {
        let bin = find_bin_dir().context(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under \
             /usr/lib/postgresql/*/bin; install them (Debian: apt-get install -y postgresql)",
        )?;
        let run_as = is_root().then_some(UNPRIVILEGED_USER);
        let dir = tempfile::Builder::new().prefix("chorus-pg-").tempdir()?;
        let data_dir = dir.path().join("data");
        if let Some(user) = run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(dir.path()), "chown")?;
        }
        let port = free_port()?;
        let mut server = Self { bin, data_dir, run_as, _dir: dir, port, url: String::new() };
        server.pg("initdb", &["-D", &server.path_arg(), "-U", "chorus", "--auth=trust", "-E", "UTF8", "--no-sync"])?;
        let socket_dir = server._dir.path().to_string_lossy().into_owned();
        let commits = match durability {
            Durability::Fast => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off".to_owned(),
            // Sized as a production server would be (docs/operations.md): the hot set in
            // shared buffers, so a page read is not a system call into the OS's cache. The bench
            // reports where the server's time went, by statement (planning included), when the
            // release ships pg_stat_statements (its cost falls on pgbench and Chorus alike).
            Durability::Durable if server.has_library("pg_stat_statements") => {
                format!(
                    "{DURABLE_MEMORY} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
                )
            }
            Durability::Durable => DURABLE_MEMORY.to_owned(),
        };
        let options =
            format!("-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 {commits} -c max_connections=400");
        let log = server._dir.path().join("server.log").to_string_lossy().into_owned();
        server.pg("pg_ctl", &["-D", &server.path_arg(), "-o", &options, "-l", &log, "-w", "-t", "60", "start"])?;
        server.url = format!("postgres://chorus@127.0.0.1:{port}/postgres");
        Ok(server)
    }

    /// Whether the server's release ships the extension library `name` (its `lib` directory is
    /// beside the real `bin`, wherever `initdb` was linked from).
    fn has_library(&self, name: &str) -> bool {
        std::fs::canonicalize(self.bin.join("initdb"))
            .ok()
            .and_then(|initdb| Some(initdb.parent()?.parent()?.join("lib").join(format!("{name}.so"))))
            .is_some_and(|library| library.is_file())
    }

    /// A client tool of this server's release (`psql`, `pgbench`): beside its `initdb` when
    /// there, else in a versioned install directory, else on `PATH`.
    pub fn tool(&self, name: &str) -> PathBuf {
        let beside = self.bin.join(name);
        if beside.is_file() {
            return beside;
        }
        let versioned = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin").join(name))
            .find(|path| path.is_file());
        versioned.unwrap_or_else(|| PathBuf::from(name))
    }

    /// The server's process id (the postmaster, parent of every backend), from the first line
    /// of its `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The URL of database `name` over the server's Unix socket: how a process on the same
    /// machine reaches it at the lowest cost (no TCP on either side of each round trip).
    pub fn socket_url(&self, name: &str) -> String {
        format!("postgres://chorus@/{name}?host={}&port={}", self._dir.path().display(), self.port)
    }

    /// The URL of database `name` on this server.
    pub fn database_url(&self, name: &str) -> String {
        self.url.replace("/postgres", &format!("/{name}"))
    }

    /// Runs `psql` with `args` against this server as its superuser.
    pub fn psql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let output = Command::new(self.tool("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", &self.database_url(database), "-c", sql])
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn path_arg(&self) -> String {
        self.data_dir.to_string_lossy().into_owned()
    }

    fn pg(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(tool);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(self._dir.path());
        run(&mut command, tool)
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        if !self.url.is_empty() {
            let _ = self.pg("pg_ctl", &["-D", &self.path_arg(), "-m", "immediate", "-w", "stop"]);
        }
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path =
        std::env::var_os("PATH").into_iter().flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    // Newest major version first.
    versioned.sort_by_key(|path| {
        std::cmp::Reverse(
            path.parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    on_path.chain(versioned).find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
