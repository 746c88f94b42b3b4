//! Architecture rules checked against `cargo metadata`.

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// A service crate never depends on another service crate, only on client crates. Its tests
    /// may start another service as a real peer (a dev-dependency): they still talk to it over
    /// HTTP through its client, and none of its code reaches the service's binary.
    #[test]
    fn no_service_depends_on_another_service() {
        let root = crate::workspace_root();
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
            .current_dir(&root)
            .output()
            .expect("cargo metadata runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let services_dir = root.join("services");
        let packages = metadata["packages"].as_array().unwrap();
        let is_service = |manifest: &str| std::path::Path::new(manifest).starts_with(&services_dir);
        let service_names: Vec<&str> = packages
            .iter()
            .filter(|p| is_service(p["manifest_path"].as_str().unwrap()))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(service_names.contains(&"chorus-users"), "found services: {service_names:?}");
        for package in packages.iter().filter(|p| is_service(p["manifest_path"].as_str().unwrap())) {
            let shipped = |d: &&serde_json::Value| d["kind"].as_str() != Some("dev");
            for dependency in package["dependencies"].as_array().unwrap().iter().filter(shipped) {
                let name = dependency["name"].as_str().unwrap();
                assert!(
                    !service_names.contains(&name),
                    "{} depends on the service crate {name}; use its client crate instead",
                    package["name"]
                );
            }
        }
    }
}
