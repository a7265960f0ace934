//! `process.apparmorProfile` and `process.selinuxLabel`: the labels the
//! kernel applies at the next execve.

use super::{describe, procfs, ProcessError};
use std::io;

const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const SELINUXFS: &str = "/sys/fs/selinux";

/// Whether AppArmor is enabled; `None` when /sys does not say (not mounted).
pub(super) fn apparmor_enabled() -> Option<bool> {
    match std::fs::read(APPARMOR_ENABLED) {
        Ok(v) => Some(v.starts_with(b"Y")),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                && std::path::Path::new("/sys/module").is_dir() =>
        {
            Some(false)
        }
        Err(_) => None,
    }
}

/// Whether SELinux is enabled (selinuxfs is mounted); `None` when /sys is
/// not mounted.
pub(super) fn selinux_enabled() -> Option<bool> {
    if std::path::Path::new(SELINUXFS).join("enforce").exists() {
        Some(true)
    } else if std::path::Path::new("/sys/fs").is_dir() {
        Some(false)
    } else {
        None
    }
}

pub(super) fn apparmor_absent(profile: &str) -> ProcessError {
    ProcessError(format!(
        "process.apparmorProfile \"{profile}\" is set but AppArmor is not enabled on this host"
    ))
}

pub(super) fn selinux_absent(label: &str) -> ProcessError {
    ProcessError(format!(
        "process.selinuxLabel \"{label}\" is set but SELinux is not enabled on this host"
    ))
}

/// Asks AppArmor to confine the next execve with `profile`.
pub(super) fn apply_apparmor(profile: &str) -> Result<(), ProcessError> {
    let data = format!("exec {profile}");
    // The per-LSM file exists since Linux 5.8; older kernels only have the
    // shared one.
    let mut path = "/proc/thread-self/attr/apparmor/exec";
    let mut fd = procfs::open(path);
    if matches!(&fd, Err(e) if e.raw_os_error() == Some(libc::ENOENT)) {
        path = "/proc/thread-self/attr/exec";
        fd = procfs::open(path);
    }
    let r = fd.and_then(|fd| procfs::write_fd(&fd, path, data.as_bytes()));
    r.map_err(|e| {
        if apparmor_enabled() == Some(false) {
            apparmor_absent(profile)
        } else {
            ProcessError(format!(
                "process.apparmorProfile \"{profile}\": write {path}: {}",
                describe(&e)
            ))
        }
    })
}

/// Asks SELinux to label the next execve with `label`.
pub(super) fn apply_selinux(label: &str) -> Result<(), ProcessError> {
    let path = "/proc/thread-self/attr/exec";
    procfs::write(path, label.as_bytes()).map_err(|e| {
        if selinux_enabled() == Some(false) {
            selinux_absent(label)
        } else {
            ProcessError(format!(
                "process.selinuxLabel \"{label}\": write {path}: {}",
                describe(&e)
            ))
        }
    })
}
