//! The Rust client of the Chorus analytics service, generated at build time from the
//! published contract (`openapi.json`, a copy of `openapi/analytics.json`).

#![allow(clippy::all, unused_imports, unreachable_pub, dead_code, missing_docs)]

pub use chorus_client_support::Propagation;

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

chorus_client_support::propagation_hooks!();
