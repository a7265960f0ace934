//! Thin wrappers around raw syscalls, so the logic above them stays testable.

pub mod fd;
pub mod pidfd;
