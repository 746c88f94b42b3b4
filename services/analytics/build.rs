//! The service's migrations are embedded in the binary; a new one must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
