//! v1 cpuset: a new cpuset cgroup starts with empty `cpuset.cpus` and
//! `cpuset.mems` and cannot take processes until they are filled.

use std::path::PathBuf;

use crate::cgroups::{fs, CgroupError};

/// Copies cpus and mems from the parent into each new directory,
/// outermost first (the list is in creation order).
pub fn inherit(created: &[PathBuf]) -> Result<(), CgroupError> {
    for dir in created {
        let Some(parent) = dir.parent() else { continue };
        // New cpusets start empty (unless cgroup.clone_children is set, and
        // then they hold the parent's values anyway): copy without looking.
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let value = fs::read_named(parent, file)?;
            let value = value.trim();
            if !value.is_empty() {
                fs::write_named(dir, file, value)?;
            }
        }
    }
    Ok(())
}
