//! The process `berth exec` starts inside a live container: it has joined
//! the container's namespaces and cgroup (stage 1 did that), and now takes
//! on its process attributes and execs.

use crate::init::exec::Prepared;
use crate::launch::sync::{Channel, Msg};
use crate::seccomp::Filter;
use oci_spec::runtime::{Process, Spec};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// What the joining process needs, handed over by fork.
pub struct ExecContext {
    /// The container's config (its namespaces are joined).
    pub spec: Spec,
    /// The process to run.
    pub process: Process,
    /// Connection to `--console-socket` when `process.terminal` is set.
    pub console_socket: Option<UnixStream>,
    /// `--preserve-fds N`.
    pub preserve_fds: i32,
    /// The compiled seccomp filter of the container.
    pub seccomp: Option<Filter>,
}

impl ExecContext {
    /// The descriptors the joining process keeps.
    pub fn fds_to_keep(&self) -> Vec<i32> {
        let mut keep: Vec<i32> = (0..3 + self.preserve_fds).collect();
        keep.extend(self.console_socket.as_ref().map(|s| s.as_raw_fd()));
        keep
    }
}

/// Sets the process up and execs it. Never returns.
pub fn run(ch: Channel, ctx: ExecContext) -> ! {
    match setup(&ch, &ctx) {
        Ok(prepared) => {
            let _ = ch.send(&Msg::Ready);
            drop(ch);
            match finish(&ctx, prepared) {
                Ok(never) => match never {},
                Err(e) => eprintln!("berth exec: {e}"),
            }
            // SAFETY: _exit ends the forked child without destructors.
            unsafe { libc::_exit(127) }
        }
        Err(e) => {
            let _ = ch.send(&Msg::Error(e));
            // SAFETY: as above.
            unsafe { libc::_exit(1) }
        }
    }
}

fn setup(_ch: &Channel, ctx: &ExecContext) -> Result<Prepared, String> {
    // Until execve, this process is berth: keep the container's processes
    // from ptracing it or opening its /proc entries (exe, fds).
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("prctl dumpable: {e}"))?;
    if ctx.process.terminal().unwrap_or(false) {
        let sock = ctx
            .console_socket
            .as_ref()
            .ok_or("process.terminal is true but no --console-socket was given")?;
        let size = ctx.process.console_size().map(|b| (b.height(), b.width()));
        crate::console::setup(sock, size, false)?;
    }
    crate::process::apply_privileged(&ctx.process).map_err(|e| e.to_string())?;
    apply_memory_policy(&ctx.spec)?;
    crate::process::affinity::apply(&ctx.process, crate::process::affinity::Stage::Final)
        .map_err(|e| e.to_string())?;
    Prepared::new(&ctx.process, ctx.preserve_fds)
}

/// `linux.memoryPolicy`, for init and exec'd processes alike.
pub fn apply_memory_policy(spec: &Spec) -> Result<(), String> {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        Some(p) => crate::process::mempolicy::apply(p).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

fn finish(ctx: &ExecContext, prepared: Prepared) -> Result<std::convert::Infallible, String> {
    let nnp = ctx.process.no_new_privileges().unwrap_or(false);
    let install = || -> Result<(), String> {
        if let Some(f) = &ctx.seccomp {
            f.install().map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    if !nnp {
        install()?;
    }
    crate::process::switch_user(&ctx.process).map_err(|e| e.to_string())?;
    if nnp {
        install()?;
    }
    prepared.exec()
}
