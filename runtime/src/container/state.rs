//! `state.json`: what berth remembers about a container between verbs.

use super::{procstat::ProcStat, Error, Status, EXEC_FIFO, STATE_FILE};
use crate::cgroups::Cgroup;
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Everything berth keeps about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// The runtime-spec version of the config.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// The init process, in berth's pid namespace.
    pub pid: i32,
    /// Its start time (clock ticks after boot), to tell it from a reused pid.
    pub pid_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The user who created it (runc's `owner`).
    pub owner: String,
    /// `annotations` from the config.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Where its cgroup is.
    pub cgroup: Option<Cgroup>,
    /// The config it was created with (hooks, process defaults for exec).
    pub spec: Spec,
}

/// A container directory with its state file.
pub struct StateFile {
    /// `<root>/<id>`.
    pub dir: PathBuf,
    /// The parsed state.
    pub state: ContainerState,
}

impl StateFile {
    /// Loads the state of container `id` under `root`.
    pub fn load(root: &Path, id: &str) -> Result<StateFile, Error> {
        super::check_id(id)?;
        let dir = super::dir(root, id);
        let path = dir.join(STATE_FILE);
        let data = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ => Error::io(format!("read {}", path.display()), e),
        })?;
        let state = serde_json::from_slice(&data)
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        Ok(StateFile { dir, state })
    }

    /// Writes state.json atomically (temp file + rename), so a reader never
    /// sees half a file.
    pub fn save(dir: &Path, state: &ContainerState) -> Result<(), Error> {
        let tmp = dir.join(".state.json.tmp");
        let data = serde_json::to_vec(state).map_err(|e| Error::Other(e.to_string()))?;
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| Error::io(format!("write {}", tmp.display()), e))?;
        f.write_all(&data)
            .map_err(|e| Error::io(format!("write {}", tmp.display()), e))?;
        std::fs::rename(&tmp, dir.join(STATE_FILE))
            .map_err(|e| Error::io(format!("rename {}", tmp.display()), e))
    }

    /// The container's status, read from the live system.
    pub fn status(&self) -> Status {
        let st = &self.state;
        match ProcStat::read(st.pid) {
            Some(p) if p.start_time == st.pid_start_time && !p.is_exiting() => {}
            _ => return Status::Stopped,
        }
        if self.dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if st
            .cgroup
            .as_ref()
            .is_some_and(|c| c.is_frozen().unwrap_or(false))
        {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI state (plus runc's `rootfs`, `created`, `owner`) as JSON.
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        oci_state_json(&self.state, status)
    }
}

/// The OCI state document for `state`, hooks and `list --format json`.
pub fn oci_state_json(st: &ContainerState, status: Status) -> serde_json::Value {
    let pid = if status == Status::Stopped { 0 } else { st.pid };
    serde_json::json!({
        "ociVersion": st.oci_version,
        "id": st.id,
        "pid": pid,
        "status": status.to_string(),
        "bundle": st.bundle,
        "rootfs": st.rootfs,
        "created": st.created,
        "owner": st.owner,
        "annotations": st.annotations,
    })
}
