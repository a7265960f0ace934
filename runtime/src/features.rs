//! `berth features`: the runtime-spec features document, built from the
//! same tables the code uses, so it says what berth really supports.

use crate::spec::validate::{OCI_VERSION_MAX, OCI_VERSION_MIN};
use serde_json::{json, Value};

/// Hooks berth runs.
pub const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Namespace types berth creates and joins.
pub const NAMESPACES: [&str; 8] = [
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

/// The features document.
pub fn features() -> Value {
    let caps: Vec<&str> = crate::process::capabilities::names().collect();
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": HOOKS,
        "mountOptions": crate::rootfs::options::KNOWN,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": caps,
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": false,
                "systemdUser": false,
                "rdma": true
            },
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::features::supported_actions(),
                "operators": crate::seccomp::features::operators(),
                "archs": crate::seccomp::features::architectures(),
                "knownFlags": crate::seccomp::features::known_flags(),
                "supportedFlags": crate::seccomp::features::supported_flags()
            },
            "apparmor": { "enabled": apparmor },
            "selinux": { "enabled": selinux },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": true } }
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.version": OCI_VERSION_MAX,
            "io.github.berth.version": env!("CARGO_PKG_VERSION")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_parse_as_the_spec_type_and_match_the_tables() {
        let v = features();
        let f: oci_spec::runtime::Features = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(f.oci_version_min(), OCI_VERSION_MIN);
        assert_eq!(f.oci_version_max(), OCI_VERSION_MAX);
        // Every namespace listed is one the launcher maps to a clone flag.
        for ns in NAMESPACES {
            let t: oci_spec::runtime::LinuxNamespaceType =
                serde_json::from_value(json!(ns)).unwrap();
            assert_ne!(crate::launch::namespaces::flag(t), 0);
        }
        // Every capability listed parses as a spec capability.
        for c in v["linux"]["capabilities"].as_array().unwrap() {
            let _: oci_spec::runtime::Capability = serde_json::from_value(c.clone()).unwrap();
        }
        // Every mount option listed is understood by the mount code.
        for o in crate::rootfs::options::KNOWN {
            assert!(crate::rootfs::options::is_known(o), "{o}");
        }
        // Every seccomp action listed compiles in a profile.
        for a in crate::seccomp::features::supported_actions() {
            let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                "syscalls": [{"names": ["getpid"], "action": a}]});
            let p: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(profile).unwrap();
            crate::seccomp::Filter::compile(&p).unwrap();
        }
    }
}
