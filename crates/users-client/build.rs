//! Generates the client from `openapi.json`, the copy of `openapi/users.json` kept in this crate
//! so it builds and publishes on its own.

fn main() {
    let spec_path = "openapi.json";
    println!("cargo:rerun-if-changed={spec_path}");
    let text = std::fs::read_to_string(spec_path).expect("openapi.json is present");
    let mut document: serde_json::Value = serde_json::from_str(&text).expect("openapi.json is JSON");
    openapi_compat::downgrade(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document).expect("an OpenAPI 3.0 document");

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote_path("crate::Propagation"));
    let tokens = progenitor::Generator::new(&settings).generate_tokens(&spec).expect("the spec generates a client");
    let file = syn::parse2(tokens).expect("generated code parses");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("codegen.rs");
    std::fs::write(out, prettyplease::unparse(&file)).expect("writing the generated client");
}

fn quote_path(path: &str) -> proc_macro2::TokenStream {
    path.parse().expect("a Rust path")
}
