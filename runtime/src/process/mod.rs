//! The container process's own attributes, applied in init before execve.
//!
//! INTERFACE (owned by the process work; `init` calls these in order).

use oci_spec::runtime::Process;
use std::path::PathBuf;

/// A failure applying `process`; the message names the field and value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessError(pub String);

/// While still fully privileged: rlimits, oomScoreAdj, scheduler, ioPriority,
/// personality, and the LSM exec labels (apparmorProfile / selinuxLabel).
pub fn apply_privileged(_process: &Process) -> Result<(), ProcessError> {
    unimplemented!()
}

/// The user switch: additionalGids, gid, uid, umask, all five capability
/// sets, and noNewPrivileges.
pub fn switch_user(_process: &Process) -> Result<(), ProcessError> {
    unimplemented!()
}

/// Resolves `args[0]` the way execvp would, with the container's `PATH` from
/// `process.env`; an error says the executable is missing.
pub fn find_executable(_process: &Process) -> Result<PathBuf, ProcessError> {
    unimplemented!()
}

/// Checks `process` before anything is forked (values the kernel would
/// refuse, LSMs asked for but absent).
pub fn check(_process: &Process) -> Result<(), ProcessError> {
    unimplemented!()
}
