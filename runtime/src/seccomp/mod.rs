//! `linux.seccomp`: a profile compiled to a classic BPF program, installed
//! in init right before execve.
//!
//! INTERFACE (owned by the seccomp work).

use oci_spec::runtime::LinuxSeccomp;
use std::os::fd::OwnedFd;

/// A profile problem or an install failure; names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeccompError(pub String);

/// A compiled filter, ready to install.
#[derive(Debug, Clone)]
pub struct Filter {}

impl Filter {
    /// Compiles the profile (done in the parent, before any fork, so profile
    /// errors reach the user as config errors).
    pub fn compile(_profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
        unimplemented!()
    }

    /// Installs the filter on the calling thread (all threads with TSYNC).
    /// Returns the notify descriptor when the profile uses SCMP_ACT_NOTIFY.
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        unimplemented!()
    }
}

/// Sends the notify descriptor and the container-process state to the
/// `listenerPath` agent (runtime-spec "containerProcessState").
pub fn send_to_listener(
    _sock: &std::os::unix::net::UnixStream,
    _notify_fd: std::os::fd::BorrowedFd,
    _state_json: &[u8],
) -> Result<(), SeccompError> {
    unimplemented!()
}
