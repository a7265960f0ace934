//! berth: a low-level OCI container runtime (runtime-spec v1.3.0).
//!
//! The library is a pipeline; each module has one job:
//! `cli` → `container` (state dir, lock, lifecycle verbs) → `spec` (load and
//! validate config.json) → `launch` (fork, namespaces, sync with the child)
//! → `init` (runs inside the new namespaces: `rootfs`, `process`, `seccomp`,
//! then exec). `cgroups`, `hooks` and `console` serve the verbs; `sys` holds
//! thin syscall wrappers.

pub mod cgroups;
pub mod cli;
pub mod console;
pub mod container;
pub mod exe_guard;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod init;
pub mod launch;
pub mod logging;
pub mod netdev;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod sys;
