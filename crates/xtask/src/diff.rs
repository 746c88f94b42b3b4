//! `cargo xtask openapi diff --base <ref>`: every change to each published contract since a git
//! ref, classified as breaking or compatible, and a failure when a service makes a breaking change
//! without the major version bump (below 1.0, the minor) that announces it.

use anyhow::{Context, bail};
use serde_json::Value;
use std::fmt;
use std::process::Command;

use crate::openapi::{self, workspace_root};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub breaking: bool,
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.breaking { "BREAKING " } else { "compatible" };
        write!(f, "{kind} {}", self.what)
    }
}

pub fn run(base: &str) -> anyhow::Result<()> {
    let mut unannounced = Vec::new();
    for contract in openapi::contracts() {
        let path = format!("openapi/{}.json", contract.service);
        let new: Value = serde_json::from_str(&contract.text)?;
        let Some(old_text) = git_show(base, &path)? else {
            println!("{}: new contract (not in {base})", contract.service);
            continue;
        };
        let old: Value = serde_json::from_str(&old_text).with_context(|| format!("{path} at {base}"))?;
        let changes = diff(&old, &new);
        let (old_version, new_version) = (version_of(&old), version_of(&new));
        println!("{}: {} -> {}, {} change(s)", contract.service, old_version, new_version, changes.len());
        for change in &changes {
            println!("  {change}");
        }
        if changes.iter().any(|c| c.breaking) && !announces_break(&old_version, &new_version) {
            unannounced.push(format!("{} ({old_version} -> {new_version})", contract.service));
        }
    }
    if !unannounced.is_empty() {
        bail!(
            "breaking changes without a major version bump: {}; bump the major version (the minor \
             below 1.0) after a deprecation period, or make the change compatible",
            unannounced.join(", ")
        );
    }
    Ok(())
}

fn git_show(base: &str, path: &str) -> anyhow::Result<Option<String>> {
    let output =
        Command::new("git").arg("show").arg(format!("{base}:{path}")).current_dir(workspace_root()).output()?;
    if output.status.success() { Ok(Some(String::from_utf8(output.stdout)?)) } else { Ok(None) }
}

fn version_of(spec: &Value) -> String {
    spec["info"]["version"].as_str().unwrap_or("0.0.0").to_owned()
}

/// A breaking change is announced by a new major version, or below 1.0 by a new minor (Cargo's
/// reading of semver).
pub fn announces_break(old: &str, new: &str) -> bool {
    let parse = |v: &str| -> (u64, u64) {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    };
    let ((old_major, old_minor), (new_major, new_minor)) = (parse(old), parse(new));
    if old_major == 0 && new_major == 0 { new_minor > old_minor } else { new_major > old_major }
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every change from `old` to `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    let empty = serde_json::Map::new();
    let old_paths = old["paths"].as_object().unwrap_or(&empty);
    let new_paths = new["paths"].as_object().unwrap_or(&empty);
    for (path, old_item) in old_paths {
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else { continue };
            let name = format!("{} {path}", method.to_uppercase());
            match new_paths.get(path).and_then(|item| item.get(method)) {
                None => changes.push(Change { breaking: true, what: format!("{name}: operation removed") }),
                Some(new_op) => Operation { old, new, name: &name }.compare(old_op, new_op, &mut changes),
            }
        }
    }
    for (path, new_item) in new_paths {
        for method in METHODS {
            let existed = old_paths.get(path).and_then(|item| item.get(method)).is_some();
            if new_item.get(method).is_some() && !existed {
                changes.push(Change {
                    breaking: false,
                    what: format!("{} {path}: operation added", method.to_uppercase()),
                });
            }
        }
    }
    changes
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Clients send it: narrowing breaks them.
    Request,
    /// Clients read it: removing or widening breaks them.
    Response,
}

struct Operation<'a> {
    old: &'a Value,
    new: &'a Value,
    name: &'a str,
}

impl Operation<'_> {
    fn change(&self, changes: &mut Vec<Change>, breaking: bool, what: String) {
        changes.push(Change { breaking, what: format!("{}: {what}", self.name) });
    }

    fn compare(&self, old_op: &Value, new_op: &Value, changes: &mut Vec<Change>) {
        if new_op["deprecated"] == true && old_op["deprecated"] != true {
            self.change(changes, false, "deprecated".into());
        }
        let params = |op: &Value, doc: &Value| -> Vec<(String, bool)> {
            op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| resolve(doc, p))
                        .map(|p| {
                            (
                                format!("{} `{}`", p["in"].as_str().unwrap_or(""), p["name"].as_str().unwrap_or("")),
                                p["required"] == true,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old_params, new_params) = (params(old_op, self.old), params(new_op, self.new));
        for (name, required) in &new_params {
            match old_params.iter().find(|(n, _)| n == name) {
                None if *required => self.change(changes, true, format!("new required parameter {name}")),
                None => self.change(changes, false, format!("new optional parameter {name}")),
                Some((_, false)) if *required => {
                    self.change(changes, true, format!("parameter {name} became required"))
                }
                _ => {}
            }
        }
        let body =
            |op: &Value, doc: &Value| resolve(doc, &op["requestBody"])["content"]["application/json"]["schema"].clone();
        let (old_body, new_body) = (body(old_op, self.old), body(new_op, self.new));
        if !old_body.is_null() || !new_body.is_null() {
            self.schema(&old_body, &new_body, Direction::Request, "request body", changes, 0);
        }
        let empty = serde_json::Map::new();
        let old_responses = old_op["responses"].as_object().unwrap_or(&empty);
        let new_responses = new_op["responses"].as_object().unwrap_or(&empty);
        for (status, old_response) in old_responses {
            match new_responses.get(status) {
                None => self.change(changes, true, format!("response {status} removed")),
                Some(new_response) if status.starts_with('2') => {
                    let schema =
                        |r: &Value, doc: &Value| resolve(doc, r)["content"]["application/json"]["schema"].clone();
                    let (old_schema, new_schema) = (schema(old_response, self.old), schema(new_response, self.new));
                    self.schema(
                        &old_schema,
                        &new_schema,
                        Direction::Response,
                        &format!("response {status}"),
                        changes,
                        0,
                    );
                }
                Some(_) => {}
            }
        }
        for status in new_responses.keys().filter(|s| !old_responses.contains_key(*s)) {
            let breaking = status.starts_with('2');
            self.change(changes, breaking, format!("response {status} added"));
        }
    }

    fn schema(
        &self,
        old: &Value,
        new: &Value,
        direction: Direction,
        at: &str,
        changes: &mut Vec<Change>,
        depth: usize,
    ) {
        if depth > 12 {
            return;
        }
        let (old, new) = (unwrap_schema(self.old, old), unwrap_schema(self.new, new));
        if old.is_null() || new.is_null() {
            if old.is_null() != new.is_null() {
                self.change(changes, true, format!("{at}: body added or removed"));
            }
            return;
        }
        let (old_types, new_types) = (types(&old), types(&new));
        let (old_null, new_null) = (old_types.contains(&"null"), new_types.contains(&"null"));
        match direction {
            Direction::Request if old_null && !new_null => {
                self.change(changes, true, format!("{at}: no longer accepts null"))
            }
            Direction::Response if !old_null && new_null => {
                self.change(changes, true, format!("{at}: may now be null"))
            }
            _ => {}
        }
        let (old_kinds, new_kinds) = (non_null(&old_types), non_null(&new_types));
        if !old_kinds.is_empty() && !new_kinds.is_empty() && old_kinds != new_kinds {
            self.change(changes, true, format!("{at}: type changed from {old_kinds:?} to {new_kinds:?}"));
            return;
        }
        self.enums(&old, &new, direction, at, changes);
        if let (Some(old_props), Some(new_props)) = (old["properties"].as_object(), new["properties"].as_object()) {
            let required = |s: &Value| -> Vec<String> {
                s["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default()
            };
            let (old_required, new_required) = (required(&old), required(&new));
            for (name, old_prop) in old_props {
                let field = format!("{at}.{name}");
                match new_props.get(name) {
                    // Requests refuse unknown fields, so a client still sending it would break.
                    None => self.change(changes, true, format!("{field}: field removed")),
                    Some(new_prop) => {
                        let was = old_required.contains(name);
                        let is = new_required.contains(name);
                        match direction {
                            Direction::Request if is && !was => {
                                self.change(changes, true, format!("{field}: became required"))
                            }
                            Direction::Response if was && !is => {
                                self.change(changes, true, format!("{field}: no longer always present"))
                            }
                            _ => {}
                        }
                        self.schema(old_prop, new_prop, direction, &field, changes, depth + 1);
                    }
                }
            }
            for name in new_props.keys().filter(|n| !old_props.contains_key(*n)) {
                let breaking = direction == Direction::Request && new_required.contains(name);
                let what = if breaking { "new required field" } else { "field added" };
                self.change(changes, breaking, format!("{at}.{name}: {what}"));
            }
        }
        if old.get("items").is_some() || new.get("items").is_some() {
            self.schema(&old["items"], &new["items"], direction, &format!("{at}[]"), changes, depth + 1);
        }
    }

    fn enums(&self, old: &Value, new: &Value, direction: Direction, at: &str, changes: &mut Vec<Change>) {
        let values = |s: &Value| -> Option<Vec<Value>> { s["enum"].as_array().cloned() };
        let (Some(old_values), Some(new_values)) = (values(old), values(new)) else { return };
        let removed: Vec<&Value> = old_values.iter().filter(|v| !new_values.contains(v)).collect();
        let added: Vec<&Value> = new_values.iter().filter(|v| !old_values.contains(v)).collect();
        if !removed.is_empty() {
            self.change(changes, direction == Direction::Request, format!("{at}: enum values removed {removed:?}"));
        }
        if !added.is_empty() {
            // Generated clients refuse values they do not know.
            self.change(changes, direction == Direction::Response, format!("{at}: enum values added {added:?}"));
        }
    }
}

/// Follows `$ref`s within the document.
fn resolve(doc: &Value, value: &Value) -> Value {
    let mut current = value.clone();
    for _ in 0..8 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else { break };
        let pointer = reference.trim_start_matches('#');
        current = doc.pointer(pointer).cloned().unwrap_or(Value::Null);
    }
    current
}

/// Resolves refs and the wrappers utoipa emits (`allOf` of one, `oneOf` with a null arm).
fn unwrap_schema(doc: &Value, schema: &Value) -> Value {
    let mut schema = resolve(doc, schema);
    for _ in 0..4 {
        if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            schema = resolve(doc, only);
        } else if let Some(arms) = schema.get("oneOf").and_then(Value::as_array)
            && arms.iter().any(|arm| arm["type"] == "null")
            && arms.len() == 2
        {
            let other = arms.iter().find(|arm| arm["type"] != "null").cloned().unwrap_or(Value::Null);
            let mut inner = resolve(doc, &other);
            if let Some(object) = inner.as_object_mut() {
                let mut with_null = types(&Value::Object(object.clone()))
                    .into_iter()
                    .map(|t| Value::String(t.into()))
                    .collect::<Vec<_>>();
                with_null.push(Value::String("null".into()));
                object.insert("type".into(), Value::Array(with_null));
            }
            schema = inner;
        } else {
            break;
        }
    }
    schema
}

fn non_null<'a>(types: &[&'a str]) -> Vec<&'a str> {
    types.iter().filter(|t| **t != "null").copied().collect()
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(paths: Value, schemas: Value) -> Value {
        json!({ "openapi": "3.1.0", "info": { "version": "1.0.0" }, "paths": paths, "components": { "schemas": schemas } })
    }

    fn op(request: Option<&str>, response: &str) -> Value {
        let mut op = json!({ "responses": { "200": { "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{response}") } } } } } });
        if let Some(request) = request {
            op["requestBody"] = json!({ "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{request}") } } } });
        }
        op
    }

    #[test]
    fn classifies_the_usual_changes() {
        let schemas = json!({
            "In": { "type": "object", "required": ["a"], "properties": { "a": { "type": "string" }, "m": { "type": "string", "enum": ["x", "y"] } } },
            "Out": { "type": "object", "required": ["id", "n"], "properties": { "id": { "type": "string" }, "n": { "type": "integer" } } }
        });
        let old = spec(
            json!({ "/v1/a": { "post": op(Some("In"), "Out") }, "/v1/gone": { "get": op(None, "Out") } }),
            schemas,
        );
        let new_schemas = json!({
            "In": { "type": "object", "required": ["a", "b"], "properties": { "a": { "type": "string" }, "b": { "type": "string" }, "m": { "type": "string", "enum": ["x"] } } },
            "Out": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" }, "extra": { "type": "string" } } }
        });
        let new = spec(
            json!({ "/v1/a": { "post": op(Some("In"), "Out") }, "/v1/new": { "get": op(None, "Out") } }),
            new_schemas,
        );
        let changes = diff(&old, &new);
        let breaking = |needle: &str| changes.iter().any(|c| c.breaking && c.what.contains(needle));
        let compatible = |needle: &str| changes.iter().any(|c| !c.breaking && c.what.contains(needle));
        assert!(breaking("GET /v1/gone: operation removed"), "{changes:#?}");
        assert!(breaking("request body.b: new required field"), "{changes:#?}");
        assert!(breaking("request body.m: enum values removed"), "{changes:#?}");
        assert!(breaking("response 200.n: field removed"), "{changes:#?}");
        assert!(compatible("response 200.extra: field added"), "{changes:#?}");
        assert!(compatible("GET /v1/new: operation added"), "{changes:#?}");
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn a_break_needs_a_major_bump() {
        assert!(announces_break("1.4.2", "2.0.0"));
        assert!(!announces_break("1.4.2", "1.5.0"));
        assert!(announces_break("0.1.1", "0.2.0"));
        assert!(!announces_break("0.1.0", "0.1.1"));
    }
}
