//! `linux.resources.unified`: raw cgroup v2 files, written as given.

use std::collections::HashMap;

use crate::cgroups::{fs, v2, Cgroup, CgroupError, Mode};

/// Checks a key names a file directly in the cgroup, e.g. `memory.max`.
pub fn check_key(key: &str) -> Result<&str, CgroupError> {
    let field = format!("linux.resources.unified[{key:?}]");
    let controller = key
        .split_once('.')
        .map(|(c, _)| c)
        .filter(|c| !c.is_empty());
    match controller {
        Some(c) if !key.contains('/') && key != "." && key != ".." => Ok(c),
        _ => Err(CgroupError(format!(
            "{field}: not a cgroup v2 file name like \"memory.max\""
        ))),
    }
}

/// Writes every entry (keys in order) to the cgroup v2 directory.
pub fn apply(cg: &Cgroup, map: &HashMap<String, String>) -> Result<(), CgroupError> {
    if map.is_empty() {
        return Ok(());
    }
    let dir =
        match (&cg.unified, cg.mode) {
            (Some(u), Mode::Unified | Mode::Hybrid) => u,
            _ => return Err(CgroupError(
                "linux.resources.unified: this host has no cgroup v2 hierarchy (cgroup v1 only)"
                    .into(),
            )),
        };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("linux.resources.unified[{key:?}]");
        let controller = check_key(key)?;
        if controller != "cgroup" {
            v2::controllers::require(dir, controller, &field)?;
        }
        let value = &map[key];
        fs::write(&dir.path, key, value).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::ENOENT) {
                " (no such file in the cgroup v2 hierarchy)"
            } else {
                ""
            };
            CgroupError(format!(
                "{field}: writing {value:?} to {}: {e}{hint}",
                dir.path.join(key).display()
            ))
        })?;
    }
    Ok(())
}
