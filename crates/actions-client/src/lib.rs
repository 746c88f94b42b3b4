//! The Rust client of the Chorus actions service, generated at build time from the published
//! contract (`openapi.json`, a copy of `openapi/actions.json`).
//!
//! ```no_run
//! # async fn demo(token: &str) -> Result<(), actions_client::Error<actions_client::types::Problem>> {
//! let mut headers = reqwest::header::HeaderMap::new();
//! headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
//! let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
//! let actions = actions_client::Client::new_with_client("http://127.0.0.1:8082", http, actions_client::Propagation::none());
//! let liked = actions.like().key("https://example.com/articles/42").send().await?;
//! println!("liked {}", liked.entity_key);
//! # Ok(())
//! # }
//! ```

#![allow(clippy::all, unused_imports, unreachable_pub, dead_code, missing_docs)]

pub use chorus_client_support::Propagation;

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

chorus_client_support::propagation_hooks!();
