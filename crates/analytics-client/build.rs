//! Generates the client from `openapi.json`, the copy of `openapi/analytics.json` kept in this crate
//! so it builds and publishes on its own.

fn main() {
    openapi_compat::generate_client("openapi.json");
}
