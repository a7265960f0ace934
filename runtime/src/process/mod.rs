//! The container process's own attributes, applied in init before execve.
//!
//! INTERFACE (owned by the process work; `init` calls these in order):
//! [`apply_privileged`], then [`switch_user`], then [`find_executable`].
//! `linux.personality` is not part of `process`, so init calls
//! [`personality::apply`] next to [`apply_privileged`]. The parent runs
//! [`check`] (and [`personality::check`]) before forking, and may log
//! [`warnings`].

pub mod affinity;
pub mod capabilities;
mod check;
mod cpulist;
mod exec_path;
pub mod iopriority;
mod lsm;
pub mod mempolicy;
mod nnp;
mod oom;
pub mod personality;
mod procfs;
mod rlimits;
pub mod scheduler;
mod user;

#[cfg(test)]
mod tests;

pub use check::{check, warnings};
pub use exec_path::DEFAULT_PATH;
pub use user::DEFAULT_UMASK;

use oci_spec::runtime::Process;
use std::path::PathBuf;

/// A failure applying `process`; the message names the field and value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessError(pub String);

/// The kernel's text for an I/O error, without Rust's "(os error N)".
fn describe(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// A label that is set and not empty (runc treats "" as unset).
fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// While still fully privileged: rlimits, oomScoreAdj, scheduler, ioPriority,
/// and the LSM exec labels (apparmorProfile / selinuxLabel).
pub fn apply_privileged(process: &Process) -> Result<(), ProcessError> {
    if let Some(r) = process.rlimits() {
        rlimits::apply(r)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        oom::apply(adj)?;
    }
    if let Some(s) = process.scheduler() {
        scheduler::apply(s)?;
    }
    if let Some(io) = process.io_priority() {
        iopriority::apply(io)?;
    }
    if let Some(profile) = non_empty(process.apparmor_profile()) {
        lsm::apply_apparmor(profile)?;
    }
    if let Some(label) = non_empty(process.selinux_label()) {
        lsm::apply_selinux(label)?;
    }
    Ok(())
}

/// The user switch: additionalGids, gid, uid, umask, all five capability
/// sets, and noNewPrivileges. Works as root and as root in a user
/// namespace: the bounding set is cut while CAP_SETPCAP is still held, and
/// KEEPCAPS carries the permitted set across setresuid.
pub fn switch_user(process: &Process) -> Result<(), ProcessError> {
    let user = process.user();
    let now = capabilities::probe()?;
    let plan = capabilities::plan(process.capabilities().as_ref(), &now);
    capabilities::limit_bounding(&plan, &now)?;
    capabilities::set_keepcaps(true)?;
    user::set_groups(user.additional_gids().as_deref().unwrap_or(&[]))?;
    user::set_gid(user.gid())?;
    user::set_uid(user.uid())?;
    capabilities::apply(&plan)?;
    capabilities::set_keepcaps(false)?;
    if process.no_new_privileges() == Some(true) {
        nnp::set()?;
    }
    user::set_umask(user.umask());
    Ok(())
}

/// Resolves `args[0]` the way execvp would, with the container's `PATH` from
/// `process.env`; an error says the executable is missing. A relative name
/// with a '/' is taken from the current directory, so call this after the
/// chdir to `process.cwd`.
pub fn find_executable(process: &Process) -> Result<PathBuf, ProcessError> {
    let name = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .ok_or_else(|| ProcessError("process.args is empty".into()))?;
    let path = process.env().as_deref().and_then(exec_path::path_from_env);
    exec_path::resolve(name, path)
}
