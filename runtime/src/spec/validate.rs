//! Checks a parsed config against the spec and this host, before anything is
//! created. Each problem names the field and the value.

use super::SpecError;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashSet;
use std::path::Path;

/// Oldest and newest runtime-spec versions berth accepts.
pub const OCI_VERSION_MIN: &str = "1.0.0";
/// The runtime-spec version berth implements.
pub const OCI_VERSION_MAX: &str = "1.3.0";

/// What validation needs besides the config itself.
pub struct ValidateOptions<'a> {
    /// The bundle directory (relative paths in the config are relative to it).
    pub bundle: &'a Path,
    /// Whether a `process` is required (create/run: yes).
    pub need_process: bool,
}

/// Runs every check; returns the first problem found.
pub fn validate(spec: &Spec, opts: &ValidateOptions) -> Result<(), SpecError> {
    version(spec.version())?;
    root(spec, opts.bundle)?;
    if let Some(p) = spec.process() {
        process(p)?;
    } else if opts.need_process {
        return Err(SpecError::config("process is missing"));
    }
    namespaces(spec)?;
    mounts(spec, opts.bundle)?;
    Ok(())
}

fn version(v: &str) -> Result<(), SpecError> {
    let parts: Vec<&str> = v.split(['.', '-', '+']).collect();
    let num = |i: usize| parts.get(i).and_then(|s| s.parse::<u32>().ok());
    match (num(0), num(1), num(2)) {
        (Some(1), Some(minor), Some(_)) if minor <= 3 => Ok(()),
        _ => Err(SpecError::config(format!(
            "ociVersion \"{v}\" is not supported (berth supports {OCI_VERSION_MIN} to {OCI_VERSION_MAX})"
        ))),
    }
}

fn root(spec: &Spec, bundle: &Path) -> Result<(), SpecError> {
    let Some(root) = spec.root() else {
        return Err(SpecError::config("root is missing"));
    };
    let path = bundle.join(root.path());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SpecError::config(format!(
            "root.path \"{}\" is not a directory",
            root.path().display()
        ))),
        Err(_) => Err(SpecError::config(format!(
            "root.path \"{}\" does not exist",
            root.path().display()
        ))),
    }
}

fn process(p: &oci_spec::runtime::Process) -> Result<(), SpecError> {
    match p.args() {
        Some(a) if !a.is_empty() => {}
        _ => return Err(SpecError::config("process.args is empty")),
    }
    if !p.cwd().is_absolute() {
        return Err(SpecError::config(format!(
            "process.cwd \"{}\" is not an absolute path",
            p.cwd().display()
        )));
    }
    if let Some(env) = p.env() {
        for (i, e) in env.iter().enumerate() {
            if !e.contains('=') {
                return Err(SpecError::config(format!(
                    "process.env[{i}] \"{e}\" is not NAME=value"
                )));
            }
        }
    }
    if let Some(rl) = p.rlimits() {
        let mut seen = HashSet::new();
        for (i, r) in rl.iter().enumerate() {
            if !seen.insert(r.typ().to_string()) {
                return Err(SpecError::config(format!(
                    "process.rlimits[{i}].type \"{}\" is given twice",
                    r.typ()
                )));
            }
            if r.soft() > r.hard() {
                return Err(SpecError::config(format!(
                    "process.rlimits[{i}]: soft {} is above hard {}",
                    r.soft(),
                    r.hard()
                )));
            }
        }
    }
    Ok(())
}

/// The namespace types a container gets fresh (no `path`) or joins (`path`).
pub fn has_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == t))
}

/// True when the container gets a fresh namespace of type `t` (no `path`).
pub fn has_new_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == t && n.path().is_none()))
}

fn namespaces(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(SpecError::config(format!(
                "linux.namespaces[{i}].type \"{}\" is given twice",
                ns.typ()
            )));
        }
        if let Some(p) = ns.path() {
            if std::fs::symlink_metadata(p).is_err() {
                return Err(SpecError::config(format!(
                    "linux.namespaces[{i}].path \"{}\" does not exist",
                    p.display()
                )));
            }
        }
    }
    let has = |t| has_namespace(spec, t);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::config(
            "hostname is set but linux.namespaces has no uts namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(SpecError::config(
            "domainname is set but linux.namespaces has no uts namespace",
        ));
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && !has(LinuxNamespaceType::Time)
    {
        return Err(SpecError::config(
            "linux.timeOffsets is set but linux.namespaces has no time namespace",
        ));
    }
    if let Some(offsets) = linux.time_offsets() {
        for clock in offsets.keys() {
            if clock != "monotonic" && clock != "boottime" {
                return Err(SpecError::config(format!(
                    "linux.timeOffsets \"{clock}\" is not a clock (monotonic or boottime)"
                )));
            }
        }
    }
    let userns = has(LinuxNamespaceType::User);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if maps && !userns {
        return Err(SpecError::config(
            "linux.uidMappings are set but linux.namespaces has no user namespace",
        ));
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            if key.contains("..") || key.starts_with('/') {
                return Err(SpecError::config(format!(
                    "linux.sysctl \"{key}\" is not a sysctl name"
                )));
            }
            let ipc = key.starts_with("kernel.msg")
                || key.starts_with("kernel.sem")
                || key.starts_with("kernel.shm")
                || key.starts_with("fs.mqueue.");
            if ipc && !has(LinuxNamespaceType::Ipc) {
                return Err(SpecError::config(format!(
                    "linux.sysctl \"{key}\" needs an ipc namespace"
                )));
            }
            if key.starts_with("net.") && !has(LinuxNamespaceType::Network) {
                return Err(SpecError::config(format!(
                    "linux.sysctl \"{key}\" needs a network namespace"
                )));
            }
            let uts = key == "kernel.hostname" || key == "kernel.domainname";
            if uts && !has(LinuxNamespaceType::Uts) {
                return Err(SpecError::config(format!(
                    "linux.sysctl \"{key}\" needs a uts namespace"
                )));
            }
            if !(ipc || uts || key.starts_with("net.")) {
                return Err(SpecError::config(format!(
                    "linux.sysctl \"{key}\" is not namespaced: setting it would change the host"
                )));
            }
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            return Err(SpecError::config(format!(
                "linux.devices[{i}].path \"{}\" is not an absolute path",
                d.path().display()
            )));
        }
    }
    Ok(())
}

fn mounts(spec: &Spec, bundle: &Path) -> Result<(), SpecError> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let bind = m
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
            || m.typ().as_deref() == Some("bind");
        if bind {
            let Some(src) = m.source() else {
                return Err(SpecError::config(format!(
                    "mounts[{i}] is a bind mount with no source"
                )));
            };
            // Relative sources are relative to the bundle.
            if std::fs::symlink_metadata(bundle.join(src)).is_err() {
                return Err(SpecError::config(format!(
                    "mounts[{i}].source \"{}\" does not exist",
                    src.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version("1.0.0").is_ok());
        assert!(version("1.3.0").is_ok());
        assert!(version("1.2.1-dev").is_ok());
        assert_eq!(
            version("2.0.0").unwrap_err().to_string(),
            "config.json: ociVersion \"2.0.0\" is not supported (berth supports 1.0.0 to 1.3.0)"
        );
        assert!(version("").is_err());
        assert!(version("1.9.0").is_err());
    }
}
