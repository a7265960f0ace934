//! Which cgroup hierarchies the host has mounted: pure v2 (unified), pure v1
//! (legacy), or both (hybrid). Read at run time from /proc/self/mountinfo.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::CgroupError;

/// The host's cgroup setup.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only cgroup v1 hierarchies.
    Legacy,
    /// v1 controllers plus a cgroup2 mount (usually without controllers).
    Hybrid,
    /// Only cgroup v2.
    Unified,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mountpoint: PathBuf,
    /// The cgroup (within the hierarchy) shown at the mountpoint; `/` unless
    /// bind-mounted or seen from inside a cgroup namespace.
    pub root: String,
    /// v1 only: the controllers of the hierarchy (`cpu`, `cpuacct`,
    /// `name=systemd`...). Empty for cgroup2.
    pub controllers: Vec<String>,
}

/// Every cgroup hierarchy of the host, first mount of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    /// The cgroup v1 hierarchies.
    pub v1: Vec<Mount>,
    /// The cgroup2 mount, if any.
    pub unified: Option<Mount>,
}

impl Hierarchies {
    /// Reads the current mounts.
    pub fn from_host() -> Result<Hierarchies, CgroupError> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| CgroupError(format!("reading /proc/self/mountinfo: {e}")))?;
        let found = parse_mountinfo(&text);
        if found.v1.is_empty() && found.unified.is_none() {
            return Err(CgroupError(
                "no cgroup or cgroup2 filesystem is mounted (see /proc/self/mountinfo)".into(),
            ));
        }
        Ok(found)
    }

    /// Legacy, hybrid or unified.
    pub fn mode(&self) -> Mode {
        match (self.v1.is_empty(), self.unified.is_some()) {
            (true, _) => Mode::Unified,
            (false, true) => Mode::Hybrid,
            (false, false) => Mode::Legacy,
        }
    }
}

/// v1 controller names the kernel knows (options that are not flags).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// Finds the cgroup mounts in the text of /proc/self/mountinfo.
pub fn parse_mountinfo(text: &str) -> Hierarchies {
    let mut found = Hierarchies::default();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 {
            continue;
        }
        let root = unescape(left[3]);
        let mountpoint = PathBuf::from(unescape(left[4]));
        match right[0] {
            "cgroup2" if found.unified.is_none() => {
                found.unified = Some(Mount {
                    mountpoint,
                    root,
                    controllers: Vec::new(),
                });
            }
            "cgroup" => {
                let controllers: Vec<String> = right[2]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                if controllers.is_empty() || found.v1.iter().any(|m| m.controllers == controllers) {
                    continue;
                }
                found.v1.push(Mount {
                    mountpoint,
                    root,
                    controllers,
                });
            }
            _ => {}
        }
    }
    found
}

/// Decodes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(v) = u8::try_from(value) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
99 31 0:32 /x /mnt/mem\\040copy rw - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_host_lists_v1_hierarchies_and_the_unified_mount() {
        let h = parse_mountinfo(HYBRID);
        assert_eq!(h.mode(), Mode::Hybrid);
        let names: Vec<_> = h.v1.iter().map(|m| m.controllers.join(",")).collect();
        assert_eq!(names, ["cpu", "memory", "name=systemd"]);
        assert_eq!(
            h.unified.as_ref().map(|m| m.mountpoint.clone()),
            Some("/sys/fs/cgroup/unified".into())
        );
    }

    #[test]
    fn pure_v2_and_pure_v1_are_told_apart() {
        let v2 = parse_mountinfo("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert_eq!(v2.mode(), Mode::Unified);
        let v1 = parse_mountinfo(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
        );
        assert_eq!(v1.mode(), Mode::Legacy);
        assert_eq!(v1.v1[0].controllers, ["cpu", "cpuacct"]);
    }

    #[test]
    fn octal_escapes_in_mountpoints_are_decoded() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\04"), "/end\\04");
    }
}
