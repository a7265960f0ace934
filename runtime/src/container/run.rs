//! `berth run`: create + start, then (unless `--detach`) wait for the
//! container, forwarding signals, and exit with its status.

use super::{create, delete, start, CreateOptions, Error};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::path::Path;

/// Signals `run` passes on to the container instead of dying of them.
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

    let state = create(root, opts)?;
    if let Err(e) = start(root, &opts.id) {
        let _ = delete(root, &opts.id, true);
        return Err(e);
    }
    let code = wait_forwarding(state.pid, &set)?;
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

/// Waits for the process, forwarding signals; returns its exit code (128+N when
/// killed by signal N).
pub(super) fn wait_forwarding(init: i32, set: &SigSet) -> Result<i32, Error> {
    loop {
        // Reap whatever has exited first: the SIGCHLD may already be pending
        // or merged with another.
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid.as_raw() == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid.as_raw() == init => {
                    return Ok(128 + sig as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
        let sig = set
            .wait()
            .map_err(|e| Error::Other(format!("wait for signals: {e}")))?;
        if sig != Signal::SIGCHLD {
            let _ = nix::sys::signal::kill(Pid::from_raw(init), sig);
        }
    }
}
