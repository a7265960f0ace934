//! `berth kill`: signal the container's init, or with `--all` every process
//! in its cgroup.

use super::{Error, StateFile, Status};
use crate::sys::pidfd;
use std::path::Path;

/// Sends `sig` to container `id`.
pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let status = sf.status();
    if status == Status::Stopped {
        return Err(Error::WrongStatus {
            id: id.into(),
            status,
            what: "a stopped container cannot be signalled",
        });
    }
    if all {
        return signal_all(&sf, sig);
    }
    signal_init(&sf, sig)
}

/// Signals init through a pidfd (no race with pid reuse: status() has just
/// checked the start time).
pub(super) fn signal_init(sf: &StateFile, sig: i32) -> Result<(), Error> {
    let fd = pidfd::open(sf.state.pid)
        .map_err(|e| Error::Other(format!("container init (pid {}): {e}", sf.state.pid)))?;
    pidfd::send_signal(&fd, sig)
        .map_err(|e| Error::Other(format!("signal container init (pid {}): {e}", sf.state.pid)))
}

/// Signals every process in the container's cgroup, init included.
pub(super) fn signal_all(sf: &StateFile, sig: i32) -> Result<(), Error> {
    let Some(cg) = &sf.state.cgroup else {
        return signal_init(sf, sig);
    };
    cg.kill_all(sig).map_err(|e| Error::Other(e.to_string()))
}
