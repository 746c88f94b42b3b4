//! Turns the OpenAPI 3.1 documents utoipa writes into the 3.0 form progenitor reads, and
//! generates each client crate's code from it ([`generate_client`]).
//!
//! Only what utoipa emits needs translating:
//! - `type: [T, "null"]` becomes `type: T` with `nullable: true`;
//! - a `oneOf` with a `{"type": "null"}` arm becomes `allOf` of the rest with `nullable: true`;
//! - a response without a description gets an empty one (required in 3.0);
//! - an optional parameter's schema loses its `null` arm, since absence already says "none";
//! - a response `$ref` is inlined, since progenitor types only inline responses;
//! - `application/problem+json` bodies are declared `application/json`, the one media type
//!   progenitor decodes into types (problem details are JSON);
//! - the 3.1-only `info.license.identifier` is dropped.

use serde_json::{Map, Value};

/// For a client crate's build script: reads `spec_path` (a copy of the service's published
/// spec), downgrades it and writes the progenitor-generated client to `$OUT_DIR/codegen.rs`. The
/// client's inner type is `chorus_client_support::Propagation`.
pub fn generate_client(spec_path: &str) {
    println!("cargo:rerun-if-changed={spec_path}");
    let text = std::fs::read_to_string(spec_path).unwrap_or_else(|e| panic!("reading {spec_path}: {e}"));
    let mut document: Value = serde_json::from_str(&text).expect("the spec is JSON");
    downgrade(&mut document);
    let event_types = event_types(&document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document).expect("an OpenAPI 3.0 document");
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type("chorus_client_support::Propagation".parse().expect("a Rust path"));
    if !event_types.is_empty() {
        // A feed page parses item by item, so an event type newer than this client is skipped,
        // not a failed page (chorus_client_support::feed).
        settings.with_replacement(
            "EventPage",
            "chorus_client_support::EventPage<crate::types::Event>",
            std::iter::empty(),
        );
    }
    let mut tokens = progenitor::Generator::new(&settings).generate_tokens(&spec).expect("the spec generates a client");
    if !event_types.is_empty() {
        tokens.extend(quote::quote! {
            impl chorus_client_support::EventTypes for types::Event {
                const TYPES: &'static [&'static str] = &[#(#event_types),*];
            }
        });
    }
    let file = syn::parse2(tokens).expect("generated code parses");
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set in build scripts")).join("codegen.rs");
    std::fs::write(out, prettyplease::unparse(&file)).expect("writing the generated client");
}

/// The `type` values of the spec's `Event` schema, from its discriminator.
pub fn event_types(document: &Value) -> Vec<String> {
    document
        .pointer("/components/schemas/Event/discriminator/mapping")
        .and_then(Value::as_object)
        .map(|mapping| mapping.keys().cloned().collect())
        .unwrap_or_default()
}

/// Converts a 3.1 document, in place, to 3.0.3.
pub fn downgrade(document: &mut Value) {
    if let Some(root) = document.as_object_mut() {
        root.insert("openapi".into(), Value::String("3.0.3".into()));
        if let Some(license) =
            root.get_mut("info").and_then(|info| info.get_mut("license")).and_then(Value::as_object_mut)
        {
            license.remove("identifier");
        }
        let shared = root.get("components").and_then(|c| c.get("responses")).cloned().unwrap_or_default();
        if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
            for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
                if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                    for response in responses.values_mut() {
                        inline_ref(response, &shared);
                    }
                    responses.values_mut().filter_map(Value::as_object_mut).for_each(describe_response);
                }
            }
        }
    }
    rewrite_nullables(document);
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
            if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
                parameters.iter_mut().filter_map(Value::as_object_mut).for_each(drop_optional_null);
            }
        }
    }
}

fn drop_optional_null(parameter: &mut Map<String, Value>) {
    if parameter.get("required") != Some(&Value::Bool(true))
        && let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut)
    {
        schema.remove("nullable");
    }
}

fn inline_ref(response: &mut Value, shared: &Value) {
    let target = response
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("#/components/responses/"))
        .and_then(|name| shared.get(name));
    if let Some(target) = target {
        *response = target.clone();
    }
}

fn describe_response(response: &mut Map<String, Value>) {
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
        && let Some(problem) = content.remove("application/problem+json")
    {
        content.insert("application/json".into(), problem);
    }
    if !response.contains_key("$ref") && !response.contains_key("description") {
        response.insert("description".into(), Value::String(String::new()));
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn rewrite_nullables(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get("type") {
                let non_null: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
                if non_null.len() < types.len() && non_null.len() == 1 {
                    object.insert("type".into(), non_null[0].clone());
                    object.insert("nullable".into(), Value::Bool(true));
                }
            }
            if let Some(Value::Array(arms)) = object.get("oneOf")
                && arms.iter().any(is_null_schema)
            {
                let rest: Vec<Value> = arms.iter().filter(|arm| !is_null_schema(arm)).cloned().collect();
                object.remove("oneOf");
                object.insert("allOf".into(), Value::Array(rest));
                object.insert("nullable".into(), Value::Bool(true));
            }
            object.values_mut().for_each(rewrite_nullables);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullables),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_what_utoipa_emits() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1.0.0", "license": { "name": "MIT", "identifier": "MIT" } },
            "paths": { "/x": { "get": {
                "parameters": [ { "name": "k", "in": "header", "required": false, "schema": { "type": ["string", "null"] } } ],
                "responses": { "200": { "content": {} }, "400": { "$ref": "#/components/responses/Bad" } }
            } } },
            "components": { "responses": { "Bad": { "description": "bad", "content": { "application/problem+json": {} } } }, "schemas": {
                "A": { "type": "object", "properties": {
                    "name": { "type": ["string", "null"] },
                    "b": { "oneOf": [ { "type": "null" }, { "$ref": "#/components/schemas/B" } ] }
                } }
            } }
        });
        downgrade(&mut doc);
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["info"]["license"].get("identifier").is_none());
        assert_eq!(doc["paths"]["/x"]["get"]["responses"]["200"]["description"], "");
        assert_eq!(
            doc["paths"]["/x"]["get"]["responses"]["400"],
            json!({ "description": "bad", "content": { "application/json": {} } })
        );
        assert_eq!(doc["paths"]["/x"]["get"]["parameters"][0]["schema"], json!({ "type": "string" }));
        let props = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(props["name"], json!({ "type": "string", "nullable": true }));
        assert_eq!(props["b"], json!({ "allOf": [ { "$ref": "#/components/schemas/B" } ], "nullable": true }));
    }
}
