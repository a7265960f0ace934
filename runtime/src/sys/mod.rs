//! Thin wrappers around raw syscalls, so the logic above them stays testable.

pub mod clone;
pub mod fd;
pub mod idmap;
pub mod mountapi;
pub mod pidfd;
pub mod procfs;
pub mod resolve;
