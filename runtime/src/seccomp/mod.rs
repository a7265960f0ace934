//! `linux.seccomp`: a profile compiled to a classic BPF program, installed
//! in init right before execve.
//!
//! `compile` runs in the parent before any fork (profile errors are config
//! errors); `install` runs in the container's init and allocates nothing, so
//! it is safe between fork and exec.
//!
//! NOTIFY wiring: init's `install` returns the listener fd; init hands it
//! to the runtime with [`send_listener_fd`] (allocation-free); the runtime
//! connects to `listenerPath` and calls [`send_to_listener`] with
//! [`process_state_json`], then closes the connection. The hand-over runs
//! under the new filter, so compile refuses NOTIFY on the syscalls it uses
//! (`sendmsg`, and `write` for a runtime that signals with a pipe) and as
//! `defaultAction`: they would wait for an agent that has no fd yet.
//!
//! Submodules: `policy` (validation and rule merging), `arch` (ABIs and
//! names), `syscalls` (generated tables), `bpf` (code generation),
//! `install` (the seccomp(2) call), `notify` (SCMP_ACT_NOTIFY hand-over),
//! `features` (what the `features` command reports).

mod arch;
mod bpf;
pub mod features;
mod install;
mod notify;
mod policy;
mod syscalls;
#[cfg(test)]
mod tests;

pub use bpf::Insn;
pub use features::{
    architectures, known_actions, known_flags, operators, supported_actions, supported_flags,
};
pub use notify::{process_state_json, send_listener_fd, send_to_listener};

use oci_spec::runtime::LinuxSeccomp;
use std::os::fd::OwnedFd;

/// A profile problem or an install failure; names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeccompError(pub String);

/// A compiled filter, ready to install.
#[derive(Debug, Clone)]
pub struct Filter {
    program: Vec<Insn>,
    flags: u32,
    uses_notify: bool,
}

impl Filter {
    /// Compiles the profile (done in the parent, before any fork, so profile
    /// errors reach the user as config errors).
    pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
        let policy = policy::check(profile)?;
        let program = bpf::generate(&policy).map_err(SeccompError)?;
        Ok(Filter {
            program,
            flags: policy.flags,
            uses_notify: policy.uses_notify,
        })
    }

    /// Installs the filter on the calling thread (all threads with TSYNC).
    /// Returns the notify descriptor when the profile uses SCMP_ACT_NOTIFY.
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        self.install_raw()
            .map_err(|errno| SeccompError(install::describe_failure(errno, self.flags)))
    }

    /// Like [`Filter::install`], but allocation-free even on failure: the
    /// error is the raw errno. For use between fork and exec (`pre_exec`).
    pub fn install_raw(&self) -> Result<Option<OwnedFd>, i32> {
        install::set_filter(&self.program, self.flags)
    }

    /// Whether installing returns a listener fd (some rule is SCMP_ACT_NOTIFY).
    pub fn uses_notify(&self) -> bool {
        self.uses_notify
    }

    /// The BPF program, for inspection.
    pub fn program(&self) -> &[Insn] {
        &self.program
    }
}
