//! `berth delete`: remove a stopped container (its cgroup and state), run
//! the poststop hooks. `--force` kills a running one first.

use super::{kill, Error, Lock, StateFile, Status};
use crate::sys::pidfd;
use std::path::Path;
use std::time::Duration;

/// Deletes container `id`.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    let sf = match StateFile::load(root, id) {
        Ok(sf) => sf,
        // runc: deleting a missing container with --force succeeds.
        Err(Error::NotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let _lock = Lock::exclusive(&sf.dir, id)?;
    let status = sf.status();
    match status {
        Status::Stopped => {}
        // Like runc: a container that never started may be deleted.
        Status::Created => kill::signal_all(&sf, libc::SIGKILL)?,
        // kill_all thaws a paused container after SIGKILL.
        Status::Running | Status::Paused | Status::Creating if force => {
            kill::signal_all(&sf, libc::SIGKILL)?;
        }
        _ => {
            return Err(Error::WrongStatus {
                id: id.into(),
                status,
                what: "stop it first or use delete --force",
            })
        }
    }
    wait_gone(&sf);
    if let Some(cg) = &sf.state.cgroup {
        // Without a pid namespace, children of init may outlive it.
        if cg.pids().is_ok_and(|p| !p.is_empty()) {
            let _ = kill::signal_all(&sf, libc::SIGKILL);
        }
        cg.destroy().map_err(|e| Error::Other(e.to_string()))?;
    }
    let state = sf.oci_state(Status::Stopped).to_string();
    if let Err(e) = crate::hooks::run_all(
        "poststop",
        sf.state
            .spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststop().as_ref()),
        &state,
    ) {
        // runtime-spec: poststop failures are warnings; deletion goes on.
        crate::logging::warn(&e.to_string());
    }
    std::fs::remove_dir_all(&sf.dir)
        .map_err(|e| Error::io(format!("remove {}", sf.dir.display()), e))
}

/// Waits until init has really exited (it may be in do_exit right now).
fn wait_gone(sf: &StateFile) {
    if let Ok(fd) = pidfd::open(sf.state.pid) {
        // Only wait for our init, not a process that reused its pid.
        if super::procstat::ProcStat::read(sf.state.pid)
            .is_some_and(|p| p.start_time == sf.state.pid_start_time)
        {
            let _ = pidfd::wait_exit(&fd, Some(Duration::from_secs(10)));
        }
    }
}
