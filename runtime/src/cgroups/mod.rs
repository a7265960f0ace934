//! Cgroup placement and resources, on cgroup v1, v2 and hybrid hosts.
//!
//! INTERFACE (owned by the cgroups work).

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

/// A cgroup problem; names the file or field and the value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CgroupError(pub String);

/// Where a container's cgroup lives; stored in the container's state so
/// later verbs (delete, kill --all, pause...) find it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cgroup {}

impl Cgroup {
    /// Decides the cgroup paths from `linux.cgroupsPath` (absolute, relative to
    /// berth's own cgroup, or a default built from the id). Pure decision plus
    /// reading /proc/self/cgroup and the host's mounts; creates nothing.
    pub fn resolve(_cgroups_path: Option<&str>, _id: &str) -> Result<Cgroup, CgroupError> {
        unimplemented!()
    }

    /// Creates the cgroup directories and applies `resources`. On error,
    /// nothing it created is left behind.
    pub fn create(&self, _resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        unimplemented!()
    }

    /// Moves a process into the cgroup (every hierarchy).
    pub fn add_process(&self, _pid: i32) -> Result<(), CgroupError> {
        unimplemented!()
    }

    /// Every pid in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        unimplemented!()
    }

    /// Removes the cgroup directories (the cgroup must be empty).
    pub fn destroy(&self) -> Result<(), CgroupError> {
        unimplemented!()
    }
}

impl Cgroup {
    /// True when the cgroup is frozen (paused).
    pub fn is_frozen(&self) -> bool {
        false
    }

    /// Thaws a frozen cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        unimplemented!()
    }
}
