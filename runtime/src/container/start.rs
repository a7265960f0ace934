//! `berth start`: release the waiting init through exec.fifo, then run the
//! poststart hooks.

use super::{Error, Lock, StateFile, Status, EXEC_FIFO};
use crate::sys::pidfd;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

/// Starts container `id`.
pub fn start(root: &Path, id: &str) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let _lock = Lock::exclusive(&sf.dir, id)?;
    match sf.status() {
        Status::Created => {}
        status => {
            return Err(Error::WrongStatus {
                id: id.into(),
                status,
                what: "only a created container can be started",
            })
        }
    }
    release(&sf)?;
    let state = sf.oci_state(Status::Running).to_string();
    let hooks = sf.state.spec.hooks().as_ref();
    if let Err(e) = crate::hooks::run_all(
        "poststart",
        hooks.and_then(|h| h.poststart().as_ref()),
        &state,
    ) {
        // runtime-spec 1.3: a failing poststart hook fails the container.
        if let Ok(fd) = pidfd::open(sf.state.pid) {
            let _ = pidfd::send_signal(&fd, libc::SIGKILL);
        }
        return Err(Error::Other(e.to_string()));
    }
    Ok(())
}

/// Opens exec.fifo for reading (init, blocked opening it for writing, goes
/// on), reads init's byte and removes the fifo. Watches init's pidfd so a
/// dead init is an error, not a hang.
fn release(sf: &StateFile) -> Result<(), Error> {
    let path = sf.dir.join(EXEC_FIFO);
    let init = pidfd::open(sf.state.pid)
        .map_err(|e| Error::Other(format!("container init (pid {}): {e}", sf.state.pid)))?;
    let fifo = nix::fcntl::open(
        &path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::io(format!("open {}", path.display()), e.into()))?;
    let mut fds = [
        libc::pollfd {
            fd: fifo.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: init.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: fds is a valid array of two pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("wait for container init", e));
        }
        if fds[0].revents & libc::POLLIN != 0 {
            break;
        }
        if fds[1].revents != 0 {
            return Err(Error::Other(format!(
                "container \"{}\" init exited before it was started",
                sf.state.id
            )));
        }
    }
    let mut b = [0u8; 1];
    let n = nix::unistd::read(&fifo, &mut b).map_err(|e| Error::io("read exec fifo", e.into()))?;
    if n != 1 {
        return Err(Error::Other(format!(
            "container \"{}\" init exited before it was started",
            sf.state.id
        )));
    }
    std::fs::remove_file(&path).map_err(|e| Error::io(format!("remove {}", path.display()), e))
}
