//! `--registry-config`: mirrors and insecure (plain HTTP) registries.
//!
//! ```json
//! {"registries": {"docker.io": {"mirror": "127.0.0.1:5000"},
//!                 "127.0.0.1:5000": {"insecure": true}}}
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Per-registry settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryEntry {
    /// Host to contact instead of this registry.
    #[serde(default)]
    pub mirror: Option<String>,
    /// Talk plain HTTP to this registry.
    #[serde(default)]
    pub insecure: bool,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Settings keyed by registry host.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryEntry>,
}

/// Where to send requests for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host (and port) to connect to.
    pub host: String,
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
}

impl Endpoint {
    /// `http(s)://host`.
    pub fn base_url(&self) -> String {
        // Docker Hub's API lives on registry-1.docker.io.
        let host = if self.host == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.host
        };
        format!("{}://{host}", if self.insecure { "http" } else { "https" })
    }
}

/// A registry config file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("registry config {path}: {msg}")]
pub struct ConfigError {
    path: String,
    msg: String,
}

impl RegistryConfig {
    /// Reads the JSON file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let err = |msg: String| ConfigError {
            path: path.display().to_string(),
            msg,
        };
        let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_slice(&data).map_err(|e| err(e.to_string()))
    }

    /// The endpoint for `registry`, following a mirror if one is configured.
    pub fn resolve(&self, registry: &str) -> Endpoint {
        let entry = self.registries.get(registry).cloned().unwrap_or_default();
        match entry.mirror {
            Some(m) => {
                let insecure =
                    entry.insecure || self.registries.get(&m).is_some_and(|e| e.insecure);
                Endpoint { host: m, insecure }
            }
            None => Endpoint {
                host: registry.into(),
                insecure: entry.insecure,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_and_insecure_registries_resolve() {
        let c: RegistryConfig = serde_json::from_str(
            r#"{"registries":{"docker.io":{"mirror":"127.0.0.1:5000"},"127.0.0.1:5000":{"insecure":true}}}"#,
        )
        .expect("config");
        assert_eq!(c.resolve("docker.io").base_url(), "http://127.0.0.1:5000");
        assert_eq!(
            c.resolve("127.0.0.1:5000").base_url(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(c.resolve("quay.io").base_url(), "https://quay.io");
        assert_eq!(
            RegistryConfig::default().resolve("docker.io").base_url(),
            "https://registry-1.docker.io"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(
            serde_json::from_str::<RegistryConfig>(r#"{"registries":{"x":{"insecur":true}}}"#)
                .is_err()
        );
    }
}
