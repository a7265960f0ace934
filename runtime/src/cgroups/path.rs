//! Where a container's cgroup goes: `linux.cgroupsPath` (absolute, relative
//! to berth's own cgroup, or systemd's `slice:prefix:name`) and the process's
//! own cgroups from /proc/self/cgroup. Pure decisions, no I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::detect::Mount;
use super::CgroupError;

/// The cgroup path asked for, before it is placed in a hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// From the root of each hierarchy, e.g. `/system.slice/x.scope`.
    Absolute(String),
    /// Below berth's own cgroup in each hierarchy, e.g. `berth/<id>`.
    Relative(String),
}

/// The calling process's cgroups, as /proc/self/cgroup lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCgroups {
    /// v1 controller (`memory`, `name=systemd`...) to cgroup path.
    pub v1: HashMap<String, String>,
    /// The cgroup v2 path (the `0::` line).
    pub unified: Option<String>,
}

impl OwnCgroups {
    /// Parses the text of `/proc/<pid>/cgroup`.
    pub fn parse(text: &str) -> OwnCgroups {
        let mut own = OwnCgroups::default();
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if id == "0" && controllers.is_empty() {
                own.unified = Some(path.to_string());
            } else {
                for c in controllers.split(',') {
                    own.v1.insert(c.to_string(), path.to_string());
                }
            }
        }
        own
    }

    /// The own cgroup in a v1 hierarchy with these controllers.
    pub fn for_v1(&self, controllers: &[String]) -> Option<&str> {
        controllers
            .iter()
            .find_map(|c| self.v1.get(c))
            .map(String::as_str)
    }
}

/// Decides the requested path from `linux.cgroupsPath` and the container id.
/// Absent or empty means `berth/<id>` below berth's own cgroup.
pub fn parse_cgroups_path(cgroups_path: Option<&str>, id: &str) -> Result<Requested, CgroupError> {
    let raw = match cgroups_path {
        None | Some("") => {
            check_component(id, "container id")?;
            return Ok(Requested::Relative(format!("berth/{id}")));
        }
        Some(raw) => raw,
    };
    let field = || format!("linux.cgroupsPath {raw:?}");
    if !raw.starts_with('/') && raw.matches(':').count() == 2 {
        return systemd_path(raw)
            .map(Requested::Absolute)
            .map_err(|e| CgroupError(format!("{}: {e}", field())));
    }
    let absolute = raw.starts_with('/');
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(CgroupError(format!("{}: \"..\" is not allowed", field()))),
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    Ok(if absolute {
        Requested::Absolute(format!("/{joined}"))
    } else if joined.is_empty() {
        return Err(CgroupError(format!("{}: names no cgroup", field())));
    } else {
        Requested::Relative(joined)
    })
}

/// Maps systemd's `slice:prefix:name` to the cgroupfs path systemd would
/// use: `machine-a.slice:docker:ab` is `/machine.slice/machine-a.slice/docker-ab.scope`.
pub fn systemd_path(raw: &str) -> Result<String, String> {
    let mut parts = raw.splitn(3, ':');
    let slice = parts.next().unwrap_or_default();
    let prefix = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    if name.is_empty() {
        return Err("the name after the second ':' is empty".into());
    }
    if name.ends_with(".slice") {
        // A slice's place follows from its own name.
        if !prefix.is_empty() {
            return Err("a prefix is not allowed when the name is a slice".into());
        }
        return expand_slice(name);
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    check_component(&unit, "unit name")?;
    let parent = expand_slice(if slice.is_empty() {
        "system.slice"
    } else {
        slice
    })?;
    Ok(if parent == "/" {
        format!("/{unit}")
    } else {
        format!("{parent}/{unit}")
    })
}

/// `a-b-c.slice` lives at `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root.
fn expand_slice(slice: &str) -> Result<String, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("slice {slice:?} does not end in \".slice\""));
    };
    if stem == "-" {
        return Ok("/".into());
    }
    if stem.is_empty()
        || stem.contains('/')
        || stem.starts_with('-')
        || stem.ends_with('-')
        || stem.contains("--")
    {
        return Err(format!("slice {slice:?} is not a valid slice name"));
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for word in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(word);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    Ok(path)
}

fn check_component(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(format!("{what} {name:?} cannot be a cgroup directory name"));
    }
    Ok(())
}

impl From<String> for CgroupError {
    fn from(s: String) -> CgroupError {
        CgroupError(s)
    }
}

/// The directory of the requested cgroup in one hierarchy, given the
/// process's own cgroup there.
pub fn dir_in(mount: &Mount, own: &str, requested: &Requested) -> PathBuf {
    let cgroup = match requested {
        Requested::Absolute(p) => p.clone(),
        Requested::Relative(r) => format!("{}/{r}", own.trim_end_matches('/')),
    };
    // The mount shows the hierarchy from `root` down; a cgroup outside it is
    // taken as relative to what is visible.
    let visible = if mount.root == "/" {
        cgroup.as_str()
    } else {
        cgroup
            .strip_prefix(mount.root.as_str())
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .unwrap_or(&cgroup)
    };
    let mut dir = mount.mountpoint.clone();
    for part in Path::new(visible).components() {
        if let std::path::Component::Normal(p) = part {
            dir.push(p);
        }
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(at: &str, root: &str) -> Mount {
        Mount {
            mountpoint: at.into(),
            root: root.into(),
            controllers: vec!["memory".into()],
        }
    }

    #[test]
    fn absent_path_defaults_below_own_cgroup() {
        let r = parse_cgroups_path(None, "c1").unwrap();
        assert_eq!(r, Requested::Relative("berth/c1".into()));
        let dir = dir_in(&mount("/sys/fs/cgroup/memory", "/"), "/process_api/abc", &r);
        assert_eq!(
            dir,
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc/berth/c1")
        );
        let dir = dir_in(&mount("/sys/fs/cgroup/cpu", "/"), "/", &r);
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/cpu/berth/c1"));
    }

    #[test]
    fn absolute_paths_start_at_the_hierarchy_root() {
        let r = parse_cgroups_path(Some("//a/./b/"), "x").unwrap();
        assert_eq!(r, Requested::Absolute("/a/b".into()));
        let dir = dir_in(&mount("/sys/fs/cgroup/memory", "/"), "/process_api/abc", &r);
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/memory/a/b"));
    }

    #[test]
    fn relative_paths_are_cleaned_and_dotdot_is_refused() {
        assert_eq!(
            parse_cgroups_path(Some("a//b/."), "x").unwrap(),
            Requested::Relative("a/b".into())
        );
        let err = parse_cgroups_path(Some("a/../../etc"), "x").unwrap_err();
        assert!(err.0.contains("linux.cgroupsPath \"a/../../etc\""), "{err}");
        assert!(parse_cgroups_path(Some("."), "x").is_err());
        assert!(parse_cgroups_path(None, "a/b").is_err());
    }

    #[test]
    fn mount_root_is_stripped_for_bind_mounted_hierarchies() {
        let m = mount("/mnt/cg", "/outer");
        let r = Requested::Absolute("/outer/inner".into());
        assert_eq!(dir_in(&m, "/", &r), PathBuf::from("/mnt/cg/inner"));
        let r = Requested::Absolute("/outerx".into());
        assert_eq!(dir_in(&m, "/", &r), PathBuf::from("/mnt/cg/outerx"));
    }

    #[test]
    fn systemd_form_maps_to_cgroupfs_paths() {
        assert_eq!(
            systemd_path("system.slice:docker:abc").unwrap(),
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(
            systemd_path("machine-a-b.slice:libpod:1").unwrap(),
            "/machine.slice/machine-a.slice/machine-a-b.slice/libpod-1.scope"
        );
        assert_eq!(systemd_path("-.slice::c").unwrap(), "/c.scope");
        assert_eq!(systemd_path(":p:c").unwrap(), "/system.slice/p-c.scope");
        assert_eq!(
            systemd_path("user.slice::user-1.slice").unwrap(),
            "/user.slice/user-1.slice"
        );
        assert!(systemd_path("bad:p:c").unwrap_err().contains("\".slice\""));
        assert!(systemd_path("a--b.slice:p:c").is_err());
        assert!(systemd_path("system.slice:p:").is_err());
        let r = parse_cgroups_path(Some("system.slice:berth:c1"), "c1").unwrap();
        assert_eq!(
            r,
            Requested::Absolute("/system.slice/berth-c1.scope".into())
        );
    }

    #[test]
    fn proc_self_cgroup_is_parsed_per_controller() {
        let own = OwnCgroups::parse(
            "9:name=systemd:/\n4:memory:/process_api/2fa4\n2:cpu,cpuacct:/c\n0::/u\n",
        );
        assert_eq!(own.for_v1(&["memory".into()]), Some("/process_api/2fa4"));
        assert_eq!(own.for_v1(&["cpuacct".into(), "cpu".into()]), Some("/c"));
        assert_eq!(own.for_v1(&["name=systemd".into()]), Some("/"));
        assert_eq!(own.for_v1(&["pids".into()]), None);
        assert_eq!(own.unified.as_deref(), Some("/u"));
    }
}
