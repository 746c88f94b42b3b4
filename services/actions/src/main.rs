//! `chorus-actions`: serve (default), migrate, or print the OpenAPI document.

fn main() -> std::process::ExitCode {
    chorus_kit::cli::main::<chorus_actions::Actions>()
}
