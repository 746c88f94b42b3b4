//! `chorus-analytics`: serve (default), migrate, or print the OpenAPI document.

fn main() -> std::process::ExitCode {
    chorus_kit::cli::main::<chorus_analytics::Analytics>()
}
