//! `cargo xtask openapi diff --base <ref>`: every change to each published contract since a git
//! ref, classified as breaking or compatible, and a failure when a service makes a breaking change
//! without the major version bump (below 1.0, the minor) that announces it.
//!
//! Oxide's `drift` compares the two documents, in the OpenAPI 3.0 form `openapi-compat` makes of
//! them (the form progenitor reads, so the clients see exactly what is compared). drift calls a
//! change backward-incompatible, forward-incompatible, incompatible, trivial, or "unhandled" when
//! it cannot tell. Backward-incompatible and incompatible changes are breaking; forward-incompatible
//! ones are breaking unless they add something (a new operation); unhandled ones are breaking
//! unless a schema only grew in the safe direction (see [`is_safe_widening`]).

use anyhow::{Context, anyhow, bail};
use drift::{ChangeClass, ChangeComparison, ChangeDetails};
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
        let kind = if self.breaking { "BREAKING  " } else { "compatible" };
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

/// The file at `base`, or `None` when `base` has no such file. A `base` git cannot resolve is an
/// error, never "no contract yet".
fn git_show(base: &str, path: &str) -> anyhow::Result<Option<String>> {
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(workspace_root()).output();
    let commit = format!("{base}^{{commit}}");
    if !git(&["rev-parse", "--verify", "--quiet", &commit])?.status.success() {
        bail!("`{base}` is not a commit in this repository");
    }
    let spec = format!("{base}:{path}");
    if !git(&["cat-file", "-e", &spec])?.status.success() {
        return Ok(None);
    }
    let output = git(&["show", &spec])?;
    anyhow::ensure!(output.status.success(), "git show {spec} failed");
    Ok(Some(String::from_utf8(output.stdout)?))
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

/// Every change from `old` to `new` (both as utoipa writes them, OpenAPI 3.1).
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let (mut old, mut new) = (old.clone(), new.clone());
    openapi_compat::downgrade(&mut old);
    openapi_compat::downgrade(&mut new);
    // drift panics on a few changes it has no rule for (a media type added to a response, say);
    // that is a change nobody judged, so it counts as breaking.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let compared = std::panic::catch_unwind(|| drift::compare(&old, &new));
    std::panic::set_hook(hook);
    let changes = match compared.map_err(|_| anyhow!("drift stopped on a change it has no rule for")) {
        Ok(Ok(changes)) => changes,
        Ok(Err(error)) | Err(error) => {
            return vec![Change { breaking: true, what: format!("the documents could not be compared: {error:#}") }];
        }
    };
    let mut found = Vec::new();
    for change in changes {
        let Some(path) = change.paths.first() else { continue };
        for info in change.changes {
            let breaking = match info.class {
                ChangeClass::Trivial => false,
                ChangeClass::BackwardIncompatible | ChangeClass::Incompatible => true,
                // Forward-incompatible: a client built on the new contract would fail against the
                // old service. That is no break for an addition (a new operation), but it is for
                // something taken away (a status the operation no longer answers).
                ChangeClass::ForwardIncompatible => !matches!(info.details, ChangeDetails::Added),
                // A schema reached from requests and responses alike must be safe both ways, so
                // every path to it is judged, not only the first.
                ChangeClass::Unhandled => change.paths.iter().any(|path| {
                    !is_safe_widening(
                        path.comparison,
                        path.old.current_pointer(),
                        node(&old, path.old.current_pointer(), &info.old_subpath),
                        node(&new, path.new.current_pointer(), &info.new_subpath),
                    )
                }),
            };
            let at = match info.old_subpath.as_str() {
                "" => path.old.to_string(),
                subpath => format!("{} /{subpath}", path.old),
            };
            let what = format!("{} ({:?}, {:?}) at {at}", info.message, info.class, path.comparison);
            found.push(Change { breaking, what });
        }
    }
    found
}

/// The JSON value at drift's location: a `#/…` pointer and a subpath below it. A change to a
/// `oneOf` list is judged on the schema that holds it (and its discriminator).
fn node<'a>(document: &'a Value, pointer: &str, subpath: &str) -> Option<&'a Value> {
    let subpath = subpath.strip_suffix("oneOf").map_or(subpath, |parent| parent.trim_end_matches('/'));
    let mut full = pointer.trim_start_matches('#').to_owned();
    if !subpath.is_empty() {
        full.push('/');
        full.push_str(subpath);
    }
    // drift names a request body `request_body` in its paths.
    document.pointer(&full.replace("/request_body", "/requestBody"))
}

/// A change drift could not judge that is safe for every client built on the old contract:
/// - a request schema that accepts everything it accepted before (more enum values, longer or
///   shorter bounds, a pattern dropped, a new optional property);
/// - a response schema that sends nothing it could not send before (the reverse), or that only
///   gained properties;
/// - the feed's `Event` union that only gained event types: consumers skip types they do not
///   know (the clients read feed pages item by item). No other union gets that leeway.
fn is_safe_widening(direction: ChangeComparison, at: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    let (Some(old), Some(new)) = (old, new) else { return false };
    let is_event_union = at == "#/components/schemas/Event";
    match direction {
        ChangeComparison::Input => accepts_all_of(new, old) && object_change_is_safe(old, new, true),
        ChangeComparison::Output => {
            (accepts_all_of(old, new) && object_change_is_safe(old, new, false))
                || (is_event_union && only_gained_variants(old, new))
        }
        ChangeComparison::Structural => false,
    }
}

/// Whether every value `narrower` allows, `wider` allows too, as far as the keywords drift leaves
/// unjudged go (enum, length, bounds, pattern, format). Other keywords must be equal.
fn accepts_all_of(wider: &Value, narrower: &Value) -> bool {
    const JUDGED: [&str; 8] = ["enum", "maxLength", "minLength", "maximum", "minimum", "pattern", "format", "maxItems"];
    let (Some(w), Some(n)) = (wider.as_object(), narrower.as_object()) else { return wider == narrower };
    let others_equal = |a: &serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>| {
        a.iter()
            .filter(|(k, _)| {
                !JUDGED.contains(&k.as_str()) && !matches!(k.as_str(), "properties" | "required" | "description")
            })
            .all(|(k, v)| b.get(k) == Some(v))
    };
    if !others_equal(w, n) || !others_equal(n, w) {
        return false;
    }
    let number = |map: &serde_json::Map<String, Value>, key: &str| map.get(key).and_then(Value::as_f64);
    let upper_ok = |key: &str| match (number(w, key), number(n, key)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(n)) => w >= n,
    };
    let lower_ok = |key: &str| match (number(w, key), number(n, key)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(n)) => w <= n,
    };
    let enum_ok = match (w.get("enum").and_then(Value::as_array), n.get("enum").and_then(Value::as_array)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(n)) => n.iter().all(|v| w.contains(v)),
    };
    let same_or_dropped = |key: &str| w.get(key).is_none() || w.get(key) == n.get(key);
    enum_ok
        && upper_ok("maxLength")
        && upper_ok("maximum")
        && upper_ok("maxItems")
        && lower_ok("minLength")
        && lower_ok("minimum")
        && same_or_dropped("pattern")
        && same_or_dropped("format")
}

/// For an object whose properties changed: in a request, nothing removed and nothing newly
/// required; in a response, nothing removed and nothing that was always sent made optional.
fn object_change_is_safe(old: &Value, new: &Value, request: bool) -> bool {
    let keys = |v: &Value| -> Vec<String> {
        v.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
    };
    let required = |v: &Value| -> Vec<String> {
        v.get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let (old_keys, new_keys) = (keys(old), keys(new));
    let (old_required, new_required) = (required(old), required(new));
    if old_keys.iter().any(|k| !new_keys.contains(k)) {
        return false;
    }
    if request {
        new_required.iter().all(|k| old_required.contains(k))
    } else {
        old_required.iter().all(|k| new_required.contains(k))
    }
}

/// A discriminated `oneOf` that kept every variant and added some.
fn only_gained_variants(old: &Value, new: &Value) -> bool {
    let variants = |v: &Value| v.get("oneOf").and_then(Value::as_array).cloned();
    let discriminated = |v: &Value| v.get("discriminator").is_some();
    match (variants(old), variants(new)) {
        (Some(old_variants), Some(new_variants)) if discriminated(old) && discriminated(new) => {
            old_variants.iter().all(|v| new_variants.contains(v)) && new_variants.len() > old_variants.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! One fixture per class of break, and the compatible additions that must pass. Each starts
    //! from a small contract as utoipa writes it (OpenAPI 3.1) and changes one thing.

    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": "fixture", "version": "0.1.0" },
            "paths": {
                "/v1/items": {
                    "get": {
                        "operationId": "list_items",
                        "parameters": [
                            { "name": "limit", "in": "query", "required": false,
                              "schema": { "type": "integer", "format": "int32", "minimum": 1, "maximum": 100 } }
                        ],
                        "responses": {
                            "200": { "description": "Items",
                                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ItemList" } } } },
                            "404": { "description": "None" }
                        }
                    },
                    "post": {
                        "operationId": "create_item",
                        "requestBody": { "required": true,
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewItem" } } } },
                        "responses": {
                            "201": { "description": "Created",
                                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } }
                        }
                    }
                },
                "/v1/events": {
                    "get": {
                        "operationId": "list_events",
                        "responses": {
                            "200": { "description": "Events",
                                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EventPage" } } } }
                        }
                    }
                }
            },
            "components": { "schemas": {
                "Item": { "type": "object", "required": ["id", "name"],
                          "properties": { "id": { "type": "string" }, "name": { "type": "string" } } },
                "ItemList": { "type": "object", "required": ["items"],
                              "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Item" } } } },
                "NewItem": { "type": "object", "required": ["name"],
                             "properties": {
                                 "name": { "type": "string", "maxLength": 100 },
                                 "colour": { "type": "string", "enum": ["red", "green", "blue"] }
                             } },
                "EventFrame": { "type": "object", "required": ["event", "data"],
                                "properties": { "event": { "type": "string" }, "data": { "type": "string" } } },
                "EventPage": { "type": "object", "required": ["items"],
                               "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } },
                "Event": { "oneOf": [ { "$ref": "#/components/schemas/ItemCreated" } ],
                           "discriminator": { "propertyName": "type",
                                              "mapping": { "item.created": "#/components/schemas/ItemCreated" } } },
                "ItemCreated": { "type": "object", "required": ["id", "type", "data"],
                                 "properties": {
                                     "id": { "type": "integer", "format": "int64" },
                                     "type": { "type": "string", "enum": ["item.created"] },
                                     "data": { "$ref": "#/components/schemas/ItemData" }
                                 } },
                "ItemData": { "type": "object", "required": ["item_id"],
                              "properties": { "item_id": { "type": "string" } } }
            } }
        })
    }

    fn changed(edit: impl FnOnce(&mut Value)) -> Vec<Change> {
        let mut new = base();
        edit(&mut new);
        diff(&base(), &new)
    }

    fn assert_breaking(what: &str, edit: impl FnOnce(&mut Value)) {
        let changes = changed(edit);
        assert!(changes.iter().any(|c| c.breaking), "{what} must be breaking: {changes:#?}");
    }

    fn assert_compatible(what: &str, edit: impl FnOnce(&mut Value)) {
        let changes = changed(edit);
        assert!(!changes.is_empty(), "{what} is a change drift should see");
        assert!(changes.iter().all(|c| !c.breaking), "{what} must be compatible: {changes:#?}");
    }

    fn schemas(spec: &mut Value) -> &mut Value {
        &mut spec["components"]["schemas"]
    }

    #[test]
    fn an_unchanged_contract_has_no_changes() {
        assert!(diff(&base(), &base()).is_empty());
    }

    #[test]
    fn a_removed_operation_is_breaking_and_named() {
        let changes = changed(|s| {
            s["paths"]["/v1/items"].as_object_mut().unwrap().remove("post");
        });
        assert!(changes.iter().any(|c| c.breaking && c.what.contains("create_item")), "{changes:#?}");
    }

    #[test]
    fn a_removed_response_field_is_breaking() {
        assert_breaking("a removed response field", |s| {
            let item = &mut schemas(s)["Item"];
            item["properties"].as_object_mut().unwrap().remove("name");
            item["required"] = json!(["id"]);
        });
    }

    #[test]
    fn a_new_required_parameter_is_breaking() {
        assert_breaking("a new required parameter", |s| {
            s["paths"]["/v1/items"]["get"]["parameters"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "name": "owner", "in": "query", "required": true, "schema": { "type": "string" } }));
        });
    }

    #[test]
    fn a_narrowed_enum_is_breaking() {
        assert_breaking("a narrowed request enum", |s| {
            schemas(s)["NewItem"]["properties"]["colour"]["enum"] = json!(["red", "green"]);
        });
    }

    #[test]
    fn a_changed_parameter_type_is_breaking() {
        assert_breaking("a parameter type changed", |s| {
            s["paths"]["/v1/items"]["get"]["parameters"][0]["schema"] = json!({ "type": "string" });
        });
    }

    #[test]
    fn a_tightened_max_length_is_breaking() {
        assert_breaking("a tightened request maxLength", |s| {
            schemas(s)["NewItem"]["properties"]["name"]["maxLength"] = json!(50);
        });
    }

    #[test]
    fn a_removed_status_is_breaking() {
        assert_breaking("a removed status", |s| {
            s["paths"]["/v1/items"]["get"]["responses"].as_object_mut().unwrap().remove("404");
        });
    }

    #[test]
    fn a_changed_event_schema_is_breaking() {
        assert_breaking("an event's data field changed type", |s| {
            schemas(s)["ItemData"]["properties"]["item_id"] = json!({ "type": "integer" });
        });
        assert_breaking("an event's data field removed", |s| {
            let data = &mut schemas(s)["ItemData"];
            data["properties"] = json!({});
            data["required"] = json!([]);
        });
    }

    #[test]
    fn compatible_additions_pass_the_gate() {
        assert_compatible("a new operation", |s| {
            s["paths"]["/v1/items/{id}"] = json!({ "get": { "operationId": "get_item", "parameters": [
                { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }
            ], "responses": { "200": { "description": "An item",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } } } } });
        });
        assert_compatible("a new optional response field", |s| {
            schemas(s)["Item"]["properties"]["note"] = json!({ "type": "string" });
        });
        assert_compatible("a new optional request field", |s| {
            schemas(s)["NewItem"]["properties"]["note"] = json!({ "type": "string" });
        });
        assert_compatible("a widened request enum", |s| {
            schemas(s)["NewItem"]["properties"]["colour"]["enum"] = json!(["red", "green", "blue", "black"]);
        });
        assert_compatible("a loosened request maxLength", |s| {
            schemas(s)["NewItem"]["properties"]["name"]["maxLength"] = json!(200);
        });
        assert_compatible("a new event type", |s| {
            schemas(s)["ItemDeleted"] = json!({ "type": "object", "required": ["id", "type", "data"], "properties": {
                "id": { "type": "integer", "format": "int64" },
                "type": { "type": "string", "enum": ["item.deleted"] },
                "data": { "$ref": "#/components/schemas/ItemData" }
            } });
            let event = &mut schemas(s)["Event"];
            event["oneOf"].as_array_mut().unwrap().push(json!({ "$ref": "#/components/schemas/ItemDeleted" }));
            event["discriminator"]["mapping"]["item.deleted"] = json!("#/components/schemas/ItemDeleted");
        });
    }

    #[test]
    fn only_a_major_bump_announces_a_break() {
        assert!(announces_break("0.1.3", "0.2.0"));
        assert!(!announces_break("0.1.3", "0.1.4"));
        assert!(announces_break("1.4.0", "2.0.0"));
        assert!(!announces_break("1.4.0", "1.5.0"));
    }
}
