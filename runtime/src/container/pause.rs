//! `berth pause` / `berth resume`: freeze and thaw the container's cgroup.

use super::{Error, Lock, StateFile, Status};
use std::path::Path;

/// Freezes every process of a running container.
pub fn pause(root: &Path, id: &str) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let _lock = Lock::exclusive(&sf.dir, id)?;
    let status = sf.status();
    if !matches!(status, Status::Running | Status::Created) {
        return Err(Error::WrongStatus {
            id: id.into(),
            status,
            what: "only a running container can be paused",
        });
    }
    cgroup(&sf)?
        .freeze()
        .map_err(|e| Error::Other(e.to_string()))
}

/// Thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let _lock = Lock::exclusive(&sf.dir, id)?;
    let status = sf.status();
    if status != Status::Paused {
        return Err(Error::WrongStatus {
            id: id.into(),
            status,
            what: "only a paused container can be resumed",
        });
    }
    cgroup(&sf)?.thaw().map_err(|e| Error::Other(e.to_string()))
}

pub(super) fn cgroup(sf: &StateFile) -> Result<&crate::cgroups::Cgroup, Error> {
    sf.state
        .cgroup
        .as_ref()
        .ok_or_else(|| Error::Other(format!("container \"{}\" has no cgroup", sf.state.id)))
}
