//! The container's init: runs inside the new namespaces, builds the rootfs,
//! sets up the process, tells berth it is ready, waits for `start`, then
//! execs the user's program.
//!
//! It is a forked copy of berth (no re-exec), so it shares berth's parsed
//! config; everything it does is in the order runtime-spec's lifecycle asks.

pub mod exec;

use crate::launch::sync::{Channel, Msg};
use crate::rootfs::{self, RootfsContext};
use crate::seccomp::Filter;
use oci_spec::runtime::{Process, Spec};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// What init needs, handed over by fork.
pub struct InitContext {
    /// The validated config.
    pub spec: Spec,
    /// Absolute rootfs path on the host.
    pub rootfs: PathBuf,
    /// Absolute bundle path (relative mount sources are relative to it).
    pub bundle: PathBuf,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds N`: fds 3..3+N stay open in the container.
    pub preserve_fds: i32,
    /// O_PATH descriptor of `exec.fifo`; init blocks opening it for writing
    /// until `start` opens it for reading.
    pub exec_fifo: OwnedFd,
    /// Connection to `--console-socket`, when `process.terminal` is set.
    pub console_socket: Option<UnixStream>,
    /// The compiled seccomp filter.
    pub seccomp: Option<Filter>,
    /// Connection to `linux.seccomp.listenerPath`.
    pub seccomp_listener: Option<UnixStream>,
}

impl InitContext {
    /// The descriptors init needs; every other one is closed after fork.
    pub fn fds_to_keep(&self) -> Vec<i32> {
        let mut keep: Vec<i32> = (0..3 + self.preserve_fds).collect();
        keep.push(self.exec_fifo.as_raw_fd());
        keep.extend(self.console_socket.as_ref().map(|s| s.as_raw_fd()));
        keep.extend(self.seccomp_listener.as_ref().map(|s| s.as_raw_fd()));
        keep
    }
}

/// Runs init. Never returns: it execs the user's program or exits 1 after
/// sending the error to berth.
pub fn run(ch: Channel, ctx: InitContext) -> ! {
    let err = match setup(&ch, &ctx) {
        Ok(ready) => match ready.wait_and_exec(&ctx) {
            Ok(never) => match never {},
            // berth create has returned by now: the container's stderr is
            // the only place left to say why the process did not start.
            Err(e) => {
                eprintln!("berth init: {e}");
                // SAFETY: _exit ends the process without running destructors.
                unsafe { libc::_exit(127) }
            }
        },
        Err(e) => e,
    };
    let _ = ch.send(&Msg::Error(err));
    // SAFETY: as above.
    unsafe { libc::_exit(1) }
}

/// Init after setup, waiting for `start`.
struct Ready<'a> {
    process: &'a Process,
    exec: exec::Prepared,
    hook_state: String,
    proc_fd_dir: OwnedFd,
}

fn setup<'a>(ch: &Channel, ctx: &'a InitContext) -> Result<Ready<'a>, String> {
    let spec = &ctx.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or("config.json: process is missing")?;
    // A handle on the host's /proc/self/fd, taken while the host's procfs is
    // still the one at /proc, to reopen exec.fifo later without trusting the
    // container's /proc.
    let proc_fd_dir = nix::fcntl::open(
        "/proc/self/fd",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("open /proc/self/fd: {e}"))?;

    std::env::set_current_dir(&ctx.bundle)
        .map_err(|e| format!("bundle \"{}\": {e}", ctx.bundle.display()))?;
    let rctx = RootfsContext {
        spec,
        rootfs: &ctx.rootfs,
        no_pivot: ctx.no_pivot,
    };
    rootfs::prepare(&rctx).map_err(|e| e.to_string())?;

    ch.send(&Msg::RunCreateRuntimeHooks)
        .map_err(|e| format!("sync with berth: {e}"))?;
    let hook_state = match ch.recv() {
        Ok(Some(Msg::HooksDone(state))) => state,
        Ok(other) => return Err(format!("sync with berth: unexpected {other:?}")),
        Err(e) => return Err(format!("sync with berth: {e}")),
    };
    let hooks = spec.hooks().as_ref();
    crate::hooks::run_all(
        "createContainer",
        hooks.and_then(|h| h.create_container().as_ref()),
        &hook_state,
    )
    .map_err(|e| e.to_string())?;

    rootfs::enter(&rctx).map_err(|e| e.to_string())?;
    rootfs::finish(&rctx).map_err(|e| e.to_string())?;

    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| format!("hostname \"{h}\": {e}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set_domainname(d).map_err(|e| format!("domainname \"{d}\": {e}"))?;
    }
    if !ctx.no_new_keyring {
        join_session_keyring();
    }
    if process.terminal().unwrap_or(false) {
        let sock = ctx
            .console_socket
            .as_ref()
            .ok_or("process.terminal is true but no --console-socket was given")?;
        let size = process.console_size().map(|b| (b.height(), b.width()));
        crate::console::setup(sock, size, true)?;
    }
    crate::process::apply_privileged(process).map_err(|e| e.to_string())?;
    if let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) {
        crate::process::personality::apply(p).map_err(|e| e.to_string())?;
    }
    crate::exec::apply_memory_policy(spec)?;
    let exec = exec::Prepared::new(process, ctx.preserve_fds)?;

    ch.send(&Msg::Ready)
        .map_err(|e| format!("sync with berth: {e}"))?;
    Ok(Ready {
        process,
        exec,
        hook_state,
        proc_fd_dir,
    })
}

impl Ready<'_> {
    /// Blocks until `start`, runs startContainer hooks, drops privileges,
    /// installs seccomp, and execs.
    fn wait_and_exec(self, ctx: &InitContext) -> Result<std::convert::Infallible, String> {
        wait_for_start(&self.proc_fd_dir, &ctx.exec_fifo)?;
        drop(self.proc_fd_dir);
        let hooks = ctx.spec.hooks().as_ref();
        let state = self.hook_state.replace("\"creating\"", "\"created\"");
        crate::hooks::run_all(
            "startContainer",
            hooks.and_then(|h| h.start_container().as_ref()),
            &state,
        )
        .map_err(|e| e.to_string())?;
        let nnp = self.process.no_new_privileges().unwrap_or(false);
        // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so
        // it must happen before the capabilities are dropped.
        if !nnp {
            install_seccomp(ctx, &state)?;
        }
        crate::process::switch_user(self.process).map_err(|e| e.to_string())?;
        if nnp {
            install_seccomp(ctx, &state)?;
        }
        self.exec.exec()
    }
}

fn install_seccomp(ctx: &InitContext, state: &str) -> Result<(), String> {
    let Some(filter) = &ctx.seccomp else {
        return Ok(());
    };
    let notify = filter.install().map_err(|e| e.to_string())?;
    if let (Some(fd), Some(listener)) = (notify, ctx.seccomp_listener.as_ref()) {
        use std::os::fd::AsFd;
        let pid = serde_json::from_str::<serde_json::Value>(state)
            .ok()
            .and_then(|v| v["pid"].as_i64())
            .unwrap_or(0) as i32;
        let metadata = ctx
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .and_then(|s| s.listener_metadata().clone());
        let msg = crate::seccomp::process_state_json(pid, metadata.as_deref(), state.as_bytes())
            .map_err(|e| e.to_string())?;
        crate::seccomp::send_to_listener(listener, fd.as_fd(), &msg).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Opens exec.fifo for writing (blocks until `start` opens it for reading)
/// and writes the release byte.
fn wait_for_start(proc_fd_dir: &OwnedFd, fifo: &OwnedFd) -> Result<(), String> {
    let name = fifo.as_raw_fd().to_string();
    let w = nix::fcntl::openat(
        proc_fd_dir,
        name.as_str(),
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("open exec fifo: {e}"))?;
    nix::unistd::write(&w, b"0").map_err(|e| format!("write exec fifo: {e}"))?;
    Ok(())
}

fn set_domainname(name: &str) -> std::io::Result<()> {
    // SAFETY: setdomainname reads len bytes from the pointer.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A fresh session keyring, so containers don't share the host's keys.
/// Kernels without keyrings (ENOSYS) or that refuse it are fine.
fn join_session_keyring() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a null name asks for an anonymous keyring; no memory is read.
    unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
}
