//! Cgroup placement and resources, on cgroup v1, v2 and hybrid hosts.
//!
//! [`Cgroup::resolve`] decides the directories (one per v1 hierarchy, plus
//! the cgroup2 one) from `linux.cgroupsPath`; [`Cgroup::create`] makes them
//! and applies `linux.resources`; the struct is stored in the container's
//! state so later verbs find the same directories again.
//!
//! Typical use: `resolve` → `create(resources)` (pass
//! [`devices::with_device_nodes`] of the resources so `linux.devices` nodes
//! stay usable) → `add_process(pid)`; then `freeze`/`thaw`/`is_frozen`
//! (pause, resume, state), `kill_all` (kill --all), `update`, `stats`
//! (events --stats), `oom_watch`/`oom_kills`, `pids` (ps) and `destroy`
//! (delete). Device rules always get runc's default allowed devices
//! appended ([`devices::DEFAULT_ALLOWED`]).

pub mod detect;
pub mod devices;
pub mod freezer;
pub mod fs;
pub mod oom;
pub mod path;
mod remove;
pub mod resources;
pub mod stats;
mod sub;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use detect::Mode;

/// A cgroup problem; names the file or field and the value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CgroupError(pub String);

/// A container's directory in one cgroup v1 hierarchy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct V1Dir {
    /// The hierarchy's controllers, e.g. `["cpu"]` or `["name=systemd"]`.
    pub controllers: Vec<String>,
    /// The cgroup directory, e.g. `/sys/fs/cgroup/cpu/berth/c1`.
    pub path: PathBuf,
}

/// The container's cgroup v2 directory and the cgroup2 mount it lives under.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnifiedDir {
    /// Where cgroup2 is mounted, e.g. `/sys/fs/cgroup`.
    pub mount: PathBuf,
    /// The cgroup directory, e.g. `/sys/fs/cgroup/berth/c1`.
    pub path: PathBuf,
}

/// Where a container's cgroup lives; stored in the container's state so
/// later verbs (delete, kill --all, pause...) find it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cgroup {
    /// The host's setup when the cgroup was resolved.
    pub mode: Mode,
    /// One directory per mounted v1 hierarchy (legacy and hybrid hosts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v1: Vec<V1Dir>,
    /// The cgroup v2 directory (unified hosts, and hybrid hosts' cgroup2 mount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<UnifiedDir>,
}

impl Cgroup {
    /// Decides the cgroup paths from `linux.cgroupsPath` (absolute, relative to
    /// berth's own cgroup, or a default built from the id). Pure decision plus
    /// reading /proc/self/cgroup and the host's mounts; creates nothing.
    pub fn resolve(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup, CgroupError> {
        let hierarchies = detect::Hierarchies::from_host()?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| CgroupError(format!("reading /proc/self/cgroup: {e}")))?;
        let own = path::OwnCgroups::parse(&own);
        let requested = path::parse_cgroups_path(cgroups_path, id)?;
        Ok(Self::place(&hierarchies, &own, &requested))
    }

    /// On a pure cgroup v2 host, the directory to clone processes straight
    /// into (CLONE_INTO_CGROUP); `None` elsewhere (v1 hierarchies need
    /// cgroup.procs writes anyway).
    pub fn clone_into_dir(&self) -> Option<std::os::fd::OwnedFd> {
        if self.mode != Mode::Unified {
            return None;
        }
        let dir = &self.unified.as_ref()?.path;
        nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
    }

    /// Places the requested path in every hierarchy (pure).
    pub fn place(
        hierarchies: &detect::Hierarchies,
        own: &path::OwnCgroups,
        requested: &path::Requested,
    ) -> Cgroup {
        let v1 = hierarchies
            .v1
            .iter()
            .map(|m| V1Dir {
                controllers: m.controllers.clone(),
                path: path::dir_in(m, own.for_v1(&m.controllers).unwrap_or("/"), requested),
            })
            .collect();
        let unified = hierarchies.unified.as_ref().map(|m| UnifiedDir {
            mount: m.mountpoint.clone(),
            path: path::dir_in(m, own.unified.as_deref().unwrap_or("/"), requested),
        });
        Cgroup {
            mode: hierarchies.mode(),
            v1,
            unified,
        }
    }

    /// Creates the cgroup directories and applies `resources`. On error,
    /// nothing it created is left behind.
    pub fn create(&self, resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let mut created = Vec::new();
        let result = self.create_tracked(resources, &mut created);
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        result
    }

    fn create_tracked(
        &self,
        resources: Option<&LinuxResources>,
        created: &mut Vec<PathBuf>,
    ) -> Result<(), CgroupError> {
        for dir in &self.v1 {
            let first_new = created.len();
            fs::mkdir_all(&dir.path, created)?;
            if dir.controllers.iter().any(|c| c == "cpuset") {
                v1::cpuset::inherit(&created[first_new..])?;
            }
        }
        if let Some(u) = &self.unified {
            fs::mkdir_all(&u.path, created)?;
            if self.mode == Mode::Unified {
                v2::controllers::enable_available(u)?;
            }
        }
        if let Some(r) = resources {
            self.apply(r, false)?;
        }
        Ok(())
    }

    /// Applies resources to the existing cgroup (create or update).
    fn apply(&self, resources: &LinuxResources, update: bool) -> Result<(), CgroupError> {
        if update {
            self.check_before_update(resources)?;
        }
        resources::apply(self, resources)?;
        if let Some(list) = resources.devices() {
            devices::apply(self, list)?;
        }
        Ok(())
    }

    /// Changes the resources of a created cgroup (`berth update`).
    pub fn update(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        self.apply(resources, true)
    }

    /// `memory.checkBeforeUpdate`: refuse a limit below current usage
    /// rather than let the kernel reclaim or OOM-kill.
    fn check_before_update(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let Some(m) = r.memory() else { return Ok(()) };
        let Some(limit) = m.limit().filter(|l| *l > 0) else {
            return Ok(());
        };
        if m.check_before_update() != Some(true) {
            return Ok(());
        }
        let (dir, file) = match (self.v1_dir("memory"), &self.unified, self.mode) {
            (Some(d), _, _) => (d, "memory.usage_in_bytes"),
            (None, Some(u), Mode::Unified) => (u.path.as_path(), "memory.current"),
            _ => return Ok(()),
        };
        let usage: i64 = fs::read_named(dir, file)?.trim().parse().unwrap_or(0);
        if limit < usage {
            return Err(CgroupError(format!(
                "linux.resources.memory.limit {limit} is below the current usage {usage} ({}) and checkBeforeUpdate is set",
                dir.join(file).display()
            )));
        }
        Ok(())
    }

    /// Moves a process into the cgroup (every hierarchy).
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for dir in self.dirs() {
            fs::write_named(dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    /// Every pid in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match self.procs_dir() {
            Some(dir) => match fs::read(dir, "cgroup.procs") {
                Ok(text) => Ok(fs::parse_pids(&text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(CgroupError(format!(
                    "reading {}: {e}",
                    dir.join("cgroup.procs").display()
                ))),
            },
            None => Ok(Vec::new()),
        }
    }

    /// Removes the cgroup directories (the cgroup must be empty; processes
    /// still exiting are waited for briefly). Missing directories are fine.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_error = None;
        for dir in self.dirs() {
            if let Err(e) = remove::remove_tree(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Every directory of the cgroup: the v1 ones, then the cgroup2 one.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.v1
            .iter()
            .map(|d| d.path.as_path())
            .chain(self.unified.iter().map(|u| u.path.as_path()))
    }

    /// The v1 directory of the hierarchy holding `controller`.
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
            .map(|d| d.path.as_path())
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Option<&Path> {
        if self.mode == Mode::Unified {
            return self.unified.as_ref().map(|u| u.path.as_path());
        }
        ["freezer", "pids", "memory", "cpu", "devices"]
            .iter()
            .find_map(|c| self.v1_dir(c))
            .or_else(|| self.dirs().next())
    }
}

#[cfg(test)]
mod tests;
