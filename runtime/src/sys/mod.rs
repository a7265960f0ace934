//! Thin wrappers around raw syscalls, so the logic above them stays testable.

pub mod idmap;
pub mod mountapi;
pub mod procfs;
pub mod resolve;
