//! `berth run`: create + start, then (unless `--detach`) wait for the
//! container, forwarding signals, and exit with its status.

use super::tty_proxy::{self, ConsoleSocket, RawMode};
use super::{create, delete, start, CreateOptions, Error};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Signals `run` and `exec` pass on to the container instead of dying of them.
const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGALRM,
];

/// Runs a container; returns the exit code berth should exit with.
pub fn run(root: &Path, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32, Error> {
    if detach {
        create(root, opts)?;
        return match start(root, &opts.id) {
            Ok(()) => Ok(0),
            Err(e) => {
                let _ = delete(root, &opts.id, true);
                Err(e)
            }
        };
    }
    let set = prepare_to_wait()?;
    let (bundle, spec) = super::create::load_bundle(opts)?;
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    // "terminal": true without --console-socket: berth relays the pty.
    let console = if opts.console_socket.is_none() && terminal {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root.display(), e))?;
        Some(
            ConsoleSocket::bind(root, &opts.id)
                .map_err(|e| Error::Other(format!("console socket: {e}")))?,
        )
    } else {
        None
    };
    let mut opts = opts.clone();
    if let Some(c) = &console {
        opts.console_socket = Some(c.path());
    }
    let state = super::create::create_loaded(root, &opts, bundle, spec)?;
    let master = match &console {
        Some(c) => match c.receive_master() {
            Ok(m) => Some(m),
            Err(e) => {
                let _ = delete(root, &opts.id, true);
                return Err(Error::Other(format!("console: {e}")));
            }
        },
        None => None,
    };
    drop(console);
    if let Err(e) = start(root, &opts.id) {
        let _ = delete(root, &opts.id, true);
        return Err(e);
    }
    let code = wait_forwarding(state.pid, &set, master)?;
    if !keep {
        delete(root, &opts.id, true)?;
    }
    Ok(code)
}

/// Blocks the signals `run`/`exec` handle and makes berth a subreaper.
/// Done before the container process exists, so no exit or signal is
/// missed (a fast /bin/true may exit before berth would otherwise listen);
/// stage 1 exits at once, and as subreaper berth inherits its child.
pub(super) fn prepare_to_wait() -> Result<SigSet, Error> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .map_err(|e| Error::Other(format!("block signals: {e}")))?;
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| Error::Other(format!("become subreaper: {e}")))?;
    Ok(set)
}

/// Reaps exited children; returns the exit code if `pid` was among them
/// (128+N when killed by signal N).
fn reap(pid: i32) -> Option<i32> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return Some(128 + sig as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Waits for the process, forwarding signals and, with a pty, relaying
/// between it and berth's stdio; returns its exit code.
pub(super) fn wait_forwarding(
    pid: i32,
    set: &SigSet,
    master: Option<OwnedFd>,
) -> Result<i32, Error> {
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::Other(format!("signalfd: {e}")))?;
    let _raw = master.as_ref().map(|_| RawMode::enter());
    if let Some(m) = &master {
        tty_proxy::copy_window_size(m.as_fd());
    }
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut exit_code = reap(pid);
    loop {
        if let Some(code) = exit_code {
            if !master_open {
                return Ok(code);
            }
        }
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(m) = &master {
            fds.push(libc::pollfd {
                fd: if master_open { m.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            });
            fds.push(libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // With the process gone, drain what the pty still holds, then stop.
        let timeout = if exit_code.is_some() { 0 } else { -1 };
        // SAFETY: fds is a valid array of pollfds for the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("poll", e));
        }
        if n == 0 {
            if let Some(code) = exit_code {
                return Ok(code);
            }
            continue;
        }
        if fds[0].revents != 0 {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    exit_code = exit_code.or_else(|| reap(pid));
                } else if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        tty_proxy::copy_window_size(m.as_fd());
                    }
                } else {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::try_from(sig).ok());
                }
            }
        }
        if let Some(m) = &master {
            if fds[1].revents != 0 {
                master_open = relay(m.as_raw_fd(), 1);
            }
            if fds[2].revents != 0 {
                stdin_open = relay(0, m.as_raw_fd());
            }
        }
    }
}

/// Copies one read's worth from `from` to `to`; false at end of input.
fn relay(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 8192];
    // SAFETY: reading into a local buffer of the given length.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return false;
    }
    let mut off = 0usize;
    while off < n as usize {
        // SAFETY: writing from the filled part of the local buffer.
        let w = unsafe { libc::write(to, buf[off..].as_ptr().cast(), n as usize - off) };
        if w <= 0 {
            return false;
        }
        off += w as usize;
    }
    true
}
