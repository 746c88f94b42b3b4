//! The published contracts: `openapi/<svc>.json`, written from each service's utoipa document,
//! and the copy each client crate builds from.

use anyhow::{Context, bail};
use chorus_kit::Service;
use std::path::{Path, PathBuf};

/// One published contract.
pub struct Contract {
    pub service: &'static str,
    pub text: String,
}

impl Contract {
    fn of<S: Service>() -> Self {
        let spec = chorus_kit::server::spec::<S>().expect("the deprecations name real operations");
        let text = chorus_kit::docs::spec_json(&spec);
        let dangling = dangling_refs(&serde_json::from_str(&text).expect("a spec is JSON"));
        // A schema used only by a parameter must be listed in `components(schemas(…))`.
        assert!(dangling.is_empty(), "{}: these $refs name no component: {dangling:?}", S::NAME);
        Self { service: S::NAME, text }
    }

    /// The checked-in spec.
    pub fn spec_path(&self) -> PathBuf {
        workspace_root().join("openapi").join(format!("{}.json", self.service))
    }

    /// The client crate's copy, which lets that crate build and publish on its own.
    pub fn client_copy_path(&self) -> PathBuf {
        workspace_root().join("crates").join(format!("{}-client", self.service)).join("openapi.json")
    }
}

/// The `$ref`s of a document that name nothing in it.
fn dangling_refs(document: &serde_json::Value) -> Vec<String> {
    fn walk(node: &serde_json::Value, document: &serde_json::Value, found: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(|r| r.as_str())
                    && document.pointer(target.trim_start_matches('#')).is_none()
                {
                    found.push(target.to_owned());
                }
                map.values().for_each(|value| walk(value, document, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|value| walk(value, document, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, document, &mut found);
    found.sort();
    found.dedup();
    found
}

/// Every service's contract, as the code defines it now.
pub fn contracts() -> Vec<Contract> {
    vec![
        Contract::of::<chorus_users::Users>(),
        Contract::of::<chorus_actions::Actions>(),
        Contract::of::<chorus_notifications::Notifications>(),
        Contract::of::<chorus_analytics::Analytics>(),
    ]
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("chorus-contracts lives in crates/contracts")
        .to_path_buf()
}

pub fn write() -> anyhow::Result<()> {
    for contract in contracts() {
        for path in [contract.spec_path(), contract.client_copy_path()] {
            std::fs::write(&path, &contract.text).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.strip_prefix(workspace_root()).unwrap_or(&path).display());
        }
    }
    Ok(())
}

pub fn check() -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for contract in contracts() {
        for path in [contract.spec_path(), contract.client_copy_path()] {
            let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
            if checked_in != contract.text {
                stale.push(path.strip_prefix(workspace_root()).unwrap_or(&path).display().to_string());
            }
        }
    }
    if !stale.is_empty() {
        bail!("{} differ(s) from the code; run `cargo xtask openapi write` and review the diff", stale.join(", "));
    }
    println!("openapi: every checked-in spec matches the code");
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The drift check, as an ordinary test: a spec change shows up in review, never by surprise.
    #[test]
    fn checked_in_specs_and_client_copies_match_the_code() {
        super::check().unwrap();
    }

    /// A URL field's pattern is a literal in the code; it must be the one the check enforces.
    #[test]
    fn url_patterns_are_the_ones_the_services_check() {
        let found: usize = super::contracts()
            .iter()
            .map(|contract| {
                let spec: serde_json::Value = serde_json::from_str(&contract.text).unwrap();
                chorus_kit::testing::assert_url_patterns_match_the_check(&spec)
            })
            .sum();
        assert!(found >= 3, "image_url, broadcast url and webhook url state their pattern");
    }
}
