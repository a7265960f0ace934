//! The `cgroup` mount type: a view of the container's own cgroups.
//!
//! On a pure v2 host it is one cgroup2 mount. On a hybrid host it is a tmpfs
//! holding one mount per hierarchy the process is in (from /proc/self/cgroup)
//! plus `unified`. With a cgroup namespace each is a fresh cgroup filesystem
//! (which shows the namespace root); without one, the process's own cgroup
//! directories are bind-mounted from the host.

use super::options::MountOptions;
use crate::sys::mountapi::{self, AttrChange, FsParam, MOUNT_ATTR_RDONLY};
use crate::sys::procfs;
use crate::sys::resolve;
use rustix::fs::{Mode, OFlags};
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Where the host mounts its cgroup hierarchies.
const HOST_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One line of /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Directory name under /sys/fs/cgroup: "cpu,cpuacct", "systemd", "unified".
    pub dir: String,
    /// The controller list as the kernel wrote it ("name=systemd" kept).
    pub controllers: String,
    /// The process's cgroup inside the hierarchy, starting with "/".
    pub path: String,
    pub v2: bool,
}

/// Parses /proc/self/cgroup.
pub fn parse_proc_cgroup(text: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let v2 = id == "0" && controllers.is_empty();
        if controllers.is_empty() && !v2 {
            continue;
        }
        let dir = if v2 {
            "unified".to_string()
        } else {
            controllers.replace("name=", "")
        };
        out.push(Hierarchy {
            dir,
            controllers: controllers.to_string(),
            path: path.to_string(),
            v2,
        });
    }
    out
}

/// The `fsconfig` parameters that select a v1 hierarchy's controllers.
pub fn v1_params(controllers: &str) -> Vec<FsParam<'_>> {
    controllers
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| match c.strip_prefix("name=") {
            Some(name) => FsParam::Value("name", name),
            None => FsParam::Flag(c),
        })
        .collect()
}

/// The symlinks a co-mounted hierarchy gets: "cpu" -> "cpu,cpuacct".
pub fn comount_links(dir: &str) -> Vec<&str> {
    if dir.contains(',') {
        dir.split(',').filter(|c| !c.is_empty()).collect()
    } else {
        Vec::new()
    }
}

/// Mounts the cgroup view at `rel` inside `root`.
pub fn mount(
    root: BorrowedFd<'_>,
    rel: &Path,
    opts: &MountOptions,
    cgroupns: bool,
) -> Result<(), String> {
    let text = read_own_cgroups()?;
    let hierarchies = parse_proc_cgroup(&text);
    let target = resolve::ensure_dir(root, rel).map_err(|e| format!("creating the target: {e}"))?;
    let attrs = opts.attrs.set | opts.rec_attrs.set;
    if hierarchies.iter().all(|h| h.v2) {
        let h = hierarchies
            .first()
            .ok_or("/proc/self/cgroup lists no cgroup".to_string())?;
        let tree = hierarchy_tree(h, cgroupns, attrs)?
            .ok_or_else(|| format!("the host has no cgroup2 mount for \"{}\"", h.path))?;
        return mountapi::attach(tree.as_fd(), target.as_fd())
            .map_err(|e| format!("attaching cgroup2: {e}"));
    }
    // Hybrid: a tmpfs to hold the hierarchies, read-only at the end if asked.
    let params = [FsParam::Value("mode", "755")];
    let holder = mountapi::new_fs("tmpfs", Some("tmpfs"), &params, attrs & !MOUNT_ATTR_RDONLY)
        .map_err(|e| format!("tmpfs for the cgroup hierarchies: {e}"))?;
    mountapi::attach(holder.as_fd(), target.as_fd())
        .map_err(|e| format!("attaching the cgroup tmpfs: {e}"))?;
    for h in &hierarchies {
        // A hierarchy the host has not mounted where we look has nothing to
        // bind: leave it out rather than fail the container.
        let Some(tree) = hierarchy_tree(h, cgroupns, attrs)? else {
            continue;
        };
        let sub = make_dir(holder.as_fd(), &h.dir)?;
        mountapi::attach(tree.as_fd(), sub.as_fd())
            .map_err(|e| format!("attaching cgroup hierarchy \"{}\": {e}", h.dir))?;
        for link in comount_links(&h.dir) {
            match rustix::fs::symlinkat(h.dir.as_str(), &holder, link) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(format!("symlink \"{link}\" -> \"{}\": {e}", h.dir)),
            }
        }
    }
    if attrs & MOUNT_ATTR_RDONLY != 0 {
        let ro = AttrChange {
            set: MOUNT_ATTR_RDONLY,
            ..AttrChange::default()
        };
        mountapi::set_attr(holder.as_fd(), false, ro, None)
            .map_err(|e| format!("making the cgroup tmpfs read-only: {e}"))?;
    }
    Ok(())
}

fn read_own_cgroups() -> Result<String, String> {
    let fd = procfs::open_proc("self/cgroup", OFlags::RDONLY).map_err(|e| e.to_string())?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text)
        .map_err(|e| format!("reading /proc/self/cgroup: {e}"))?;
    Ok(text)
}

/// A fresh cgroup filesystem (cgroup namespace) or a bind of the process's
/// own cgroup directory on the host.
/// None when binding and the host has no such directory.
fn hierarchy_tree(h: &Hierarchy, cgroupns: bool, attrs: u64) -> Result<Option<OwnedFd>, String> {
    if cgroupns {
        let (fstype, params) = if h.v2 {
            ("cgroup2", Vec::new())
        } else {
            ("cgroup", v1_params(&h.controllers))
        };
        return mountapi::new_fs(fstype, Some("cgroup"), &params, attrs)
            .map(Some)
            .map_err(|e| format!("mounting cgroup hierarchy \"{}\": {e}", h.dir));
    }
    let host = if hierarchy_is_v2_root(h) {
        format!("{HOST_CGROUP_ROOT}{}", h.path)
    } else {
        format!("{HOST_CGROUP_ROOT}/{}{}", h.dir, h.path)
    };
    let tree = match mountapi::clone_tree(rustix::fs::CWD, Path::new(&host), false) {
        Ok(tree) => tree,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(format!("binding \"{host}\": {e}")),
    };
    let change = AttrChange {
        set: attrs,
        ..AttrChange::default()
    };
    mountapi::set_attr(tree.as_fd(), false, change, None)
        .map_err(|e| format!("setting options on \"{host}\": {e}"))?;
    Ok(Some(tree))
}

/// On a pure v2 host the unified hierarchy is /sys/fs/cgroup itself.
fn hierarchy_is_v2_root(h: &Hierarchy) -> bool {
    h.v2 && !Path::new(HOST_CGROUP_ROOT).join("unified").is_dir()
}

/// mkdir `name` in our own fresh tmpfs and open it (nobody else can race it).
fn make_dir(holder: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, String> {
    match rustix::fs::mkdirat(holder, name, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(format!("mkdir \"{name}\" in the cgroup tmpfs: {e}")),
    }
    resolve::open_beneath(holder, OsStr::new(name), OFlags::PATH | OFlags::DIRECTORY)
        .map_err(|e| format!("opening \"{name}\" in the cgroup tmpfs: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_proc_cgroup_names_hybrid_hierarchies_by_their_directory() {
        let text =
            "9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/\n1:net_cls,net_prio:/x\n0::/u\n";
        let h = parse_proc_cgroup(text);
        let dirs: Vec<_> = h.iter().map(|h| h.dir.as_str()).collect();
        assert_eq!(
            dirs,
            [
                "systemd",
                "memory",
                "cpu,cpuacct",
                "net_cls,net_prio",
                "unified"
            ]
        );
        assert_eq!(h[1].path, "/a/b");
        assert!(h[4].v2 && !h[0].v2);
        assert_eq!(h[0].controllers, "name=systemd");
    }

    #[test]
    fn parse_proc_cgroup_pure_v2_is_one_unified_line() {
        let h = parse_proc_cgroup("0::/user.slice/x.scope\n");
        assert_eq!(h.len(), 1);
        assert!(h[0].v2);
        assert_eq!(h[0].path, "/user.slice/x.scope");
    }

    #[test]
    fn v1_params_turn_controllers_into_flags_and_names_into_values() {
        assert_eq!(
            v1_params("cpu,cpuacct"),
            vec![FsParam::Flag("cpu"), FsParam::Flag("cpuacct")]
        );
        assert_eq!(
            v1_params("name=systemd"),
            vec![FsParam::Value("name", "systemd")]
        );
    }

    #[test]
    fn comounted_hierarchies_get_one_link_per_controller() {
        assert_eq!(comount_links("cpu,cpuacct"), ["cpu", "cpuacct"]);
        assert!(comount_links("memory").is_empty());
    }
}
