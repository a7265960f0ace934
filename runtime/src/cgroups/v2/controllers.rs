//! Enabling cgroup v2 controllers along the path from the mount down to a
//! cgroup (`cgroup.subtree_control` of every ancestor).

use std::path::{Path, PathBuf};

use crate::cgroups::{fs, CgroupError, UnifiedDir};

/// The ancestors of the cgroup from the mount down to its parent.
fn ancestors(dir: &UnifiedDir) -> Vec<PathBuf> {
    let mut chain: Vec<PathBuf> = dir
        .path
        .ancestors()
        .skip(1)
        .take_while(|p| p.starts_with(&dir.mount))
        .map(Path::to_path_buf)
        .collect();
    chain.reverse();
    chain
}

/// Controllers named in a `cgroup.controllers` / `subtree_control` file.
pub fn parse_list(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Pure v2: enables in every ancestor whatever the ancestor offers, so
/// the container gets every controller (stats, later updates). Best effort:
/// a parent with processes of its own cannot delegate domain controllers;
/// a controller a resource needs is checked again by [`require`].
pub fn enable_available(dir: &UnifiedDir) -> Result<(), CgroupError> {
    for parent in ancestors(dir) {
        let Ok(available) = fs::read(&parent, "cgroup.controllers") else {
            continue;
        };
        let enabled = fs::read(&parent, "cgroup.subtree_control").unwrap_or_default();
        let enabled = parse_list(&enabled);
        let missing: Vec<String> = parse_list(&available)
            .into_iter()
            .filter(|c| !enabled.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        if fs::write(&parent, "cgroup.subtree_control", &missing.join(" ")).is_err() {
            // One at a time, so one refused controller does not block the rest.
            for m in &missing {
                let _ = fs::write(&parent, "cgroup.subtree_control", m);
            }
        }
    }
    Ok(())
}

/// Makes sure `controller` is enabled for the cgroup, enabling it in each
/// ancestor if needed; `field` names the setting that needs it.
pub fn require(dir: &UnifiedDir, controller: &str, field: &str) -> Result<(), CgroupError> {
    let enabled_here = dir
        .path
        .parent()
        .and_then(|p| fs::read(p, "cgroup.subtree_control").ok())
        .is_some_and(|t| parse_list(&t).iter().any(|c| c == controller));
    if enabled_here {
        return Ok(());
    }
    for parent in ancestors(dir) {
        let available = fs::read_named(&parent, "cgroup.controllers")?;
        if !parse_list(&available).iter().any(|c| c == controller) {
            return Err(CgroupError(format!(
                "{field}: the {controller} controller is not available in cgroup {} (cgroup.controllers: {:?})",
                parent.display(),
                available.trim()
            )));
        }
        let enabled = fs::read(&parent, "cgroup.subtree_control").unwrap_or_default();
        if parse_list(&enabled).iter().any(|c| c == controller) {
            continue;
        }
        fs::write(&parent, "cgroup.subtree_control", &format!("+{controller}")).map_err(|e| {
            let why = if e.raw_os_error() == Some(libc::EBUSY) {
                " (the cgroup has processes of its own, so it cannot delegate controllers)"
            } else {
                ""
            };
            CgroupError(format!(
                "{field}: enabling {controller} in {}/cgroup.subtree_control: {e}{why}",
                parent.display()
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_run_from_the_mount_to_the_parent() {
        let d = UnifiedDir {
            mount: "/sys/fs/cgroup".into(),
            path: "/sys/fs/cgroup/a/b/c".into(),
        };
        let chain: Vec<String> = ancestors(&d)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            chain,
            ["/sys/fs/cgroup", "/sys/fs/cgroup/a", "/sys/fs/cgroup/a/b"]
        );
    }
}
