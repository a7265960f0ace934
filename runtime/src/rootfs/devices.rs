//! Device nodes and the /dev links: the default devices, `linux.devices`,
//! /dev/ptmx, /dev/fd and the std streams. Nodes are made with `mknodat`
//! in a directory resolved inside the rootfs; where mknod is refused (a user
//! namespace), the host's node is bind-mounted on an empty file instead.

use super::RootfsError;
use crate::sys::mountapi;
use crate::sys::resolve;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::{self, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    /// Path inside the container, e.g. "/dev/null".
    pub path: PathBuf,
    pub kind: FileType,
    pub major: u32,
    pub minor: u32,
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The devices every container gets (runtime-spec "Default Devices").
pub fn default_devices() -> Vec<DeviceNode> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| DeviceNode {
        path: PathBuf::from("/dev").join(name),
        kind: FileType::CharacterDevice,
        major,
        minor,
        mode: 0o666,
        uid: None,
        gid: None,
    })
    .collect()
}

/// Converts a `linux.devices` entry; `index` names it in errors.
pub fn from_spec(index: usize, d: &LinuxDevice) -> Result<DeviceNode, RootfsError> {
    let err = |what: &str| {
        RootfsError(format!(
            "linux.devices[{index}] (path \"{}\"): {what}",
            d.path().display()
        ))
    };
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => FileType::CharacterDevice,
        LinuxDeviceType::B => FileType::BlockDevice,
        LinuxDeviceType::P => FileType::Fifo,
        LinuxDeviceType::A => return Err(err("type \"a\" is not a device type")),
    };
    let major = u32::try_from(d.major()).map_err(|_| err("major number out of range"))?;
    let minor = u32::try_from(d.minor()).map_err(|_| err("minor number out of range"))?;
    if resolve::clean_in_root(d.path()).file_name().is_none() {
        return Err(err("the path names no file"));
    }
    Ok(DeviceNode {
        path: d.path().clone(),
        kind,
        major,
        minor,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid(),
        gid: d.gid(),
    })
}

/// Creates `nodes` inside `root` in order, replacing any non-directory entry
/// at their paths (a symlink is removed, never followed). Call with the umask cleared
/// (see [`with_umask_cleared`]) so the node gets its mode exactly.
pub fn create_all(root: BorrowedFd<'_>, nodes: &[DeviceNode]) -> Result<(), RootfsError> {
    let mut state = State::default();
    for node in nodes {
        create_inner(root, node, &mut state)
            .map_err(|what| RootfsError(format!("device \"{}\": {what}", node.path.display())))?;
    }
    Ok(())
}

/// What one node's creation learns for the next: the last parent directory
/// (most nodes live in /dev) and whether mknod is refused here.
#[derive(Default)]
struct State {
    parent: Option<(PathBuf, OwnedFd)>,
    mknod_denied: bool,
}

fn create_inner(root: BorrowedFd<'_>, node: &DeviceNode, state: &mut State) -> Result<(), String> {
    let rel = resolve::clean_in_root(&node.path);
    let (parent, name) = match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => (parent, name),
        _ => return Err("the path names no file".into()),
    };
    if state.parent.as_ref().is_none_or(|(p, _)| p != parent) {
        let fd = resolve::ensure_dir(root, parent)
            .map_err(|e| format!("creating its directory: {e}"))?;
        state.parent = Some((parent.to_path_buf(), fd));
    }
    let dir = match &state.parent {
        Some((_, fd)) => fd.as_fd(),
        None => return Err("no parent directory".into()),
    };
    if state.mknod_denied && node.kind != FileType::Fifo {
        resolve::remove_entry(dir, name).map_err(|e| format!("removing what was there: {e}"))?;
        return bind_host_node(dir, name, &node.path);
    }
    let dev = rustix::fs::makedev(node.major, node.minor);
    let mode = Mode::from_raw_mode(node.mode);
    let mut made = fs::mknodat(dir, name, node.kind, mode, dev);
    if made == Err(Errno::EXIST) {
        resolve::remove_entry(dir, name).map_err(|e| format!("removing what was there: {e}"))?;
        made = fs::mknodat(dir, name, node.kind, mode, dev);
    }
    match made {
        Ok(()) => {}
        Err(Errno::PERM) if node.kind != FileType::Fifo => {
            state.mknod_denied = true;
            return bind_host_node(dir, name, &node.path);
        }
        Err(e) => return Err(format!("mknod: {e}")),
    }
    // The caller cleared the umask, so the mode is exact. The node was made
    // just now by name in a resolved directory: opening it without symlinks
    // is for chown only.
    if node.uid.is_some() || node.gid.is_some() {
        let node_fd = resolve::open_beneath(dir, name, OFlags::PATH)
            .map_err(|e| format!("opening the new node: {e}"))?;
        let uid = node.uid.map(fs::Uid::from_raw);
        let gid = node.gid.map(fs::Gid::from_raw);
        fs::chownat(&node_fd, "", uid, gid, fs::AtFlags::EMPTY_PATH)
            .map_err(|e| format!("chown: {e}"))?;
    }
    Ok(())
}

/// Fallback when mknod is not allowed: an empty file with the host's node
/// (same path on the host) bind-mounted on it.
fn bind_host_node(dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> Result<(), String> {
    resolve::create_empty_file(dir, name).map_err(|e| format!("creating the bind target: {e}"))?;
    let target = resolve::open_beneath(dir, name, OFlags::PATH)
        .map_err(|e| format!("opening the bind target: {e}"))?;
    let tree = mountapi::clone_tree(rustix::fs::CWD, path, false)
        .map_err(|e| format!("mknod not permitted and host node unavailable: {e}"))?;
    mountapi::attach(tree.as_fd(), target.as_fd())
        .map_err(|e| format!("binding the host node: {e}"))
}

/// Runs `f` with umask 0, restoring the old umask afterwards.
pub fn with_umask_cleared<T>(f: impl FnOnce() -> T) -> T {
    let old = rustix::process::umask(Mode::empty());
    let result = f();
    rustix::process::umask(old);
    result
}

/// The /dev symlinks: ptmx -> pts/ptmx, fd -> /proc/self/fd, stdin/out/err.
pub fn create_links(root: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let err = |what: String| RootfsError(format!("/dev links: {what}"));
    let dev = resolve::ensure_dir(root, Path::new("dev")).map_err(|e| err(format!("/dev: {e}")))?;
    // /dev/ptmx must be the devpts one; replace whatever the image holds.
    resolve::remove_entry(dev.as_fd(), OsStr::new("ptmx"))
        .map_err(|e| err(format!("ptmx: {e}")))?;
    let links = [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        match fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(err(format!("{name} -> {target}: {e}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceBuilder;

    #[test]
    fn default_devices_are_the_six_of_the_spec() {
        let names: Vec<_> = default_devices()
            .iter()
            .map(|d| d.path.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ]
        );
        assert!(default_devices()
            .iter()
            .all(|d| d.mode == 0o666 && d.kind == FileType::CharacterDevice));
    }

    #[test]
    fn from_spec_maps_types_and_rejects_bad_entries() {
        let fuse = LinuxDeviceBuilder::default()
            .path("/dev/fuse")
            .typ(LinuxDeviceType::U)
            .major(10)
            .minor(229)
            .file_mode(0o620u32)
            .uid(5u32)
            .build()
            .unwrap();
        let node = from_spec(0, &fuse).unwrap();
        assert_eq!(node.kind, FileType::CharacterDevice);
        assert_eq!(
            (node.major, node.minor, node.mode, node.uid, node.gid),
            (10, 229, 0o620, Some(5), None)
        );

        let all = LinuxDeviceBuilder::default()
            .path("/dev/x")
            .typ(LinuxDeviceType::A)
            .build()
            .unwrap();
        let msg = from_spec(3, &all).unwrap_err().to_string();
        assert!(
            msg.starts_with("linux.devices[3] (path \"/dev/x\")"),
            "{msg}"
        );
        let neg = LinuxDeviceBuilder::default()
            .path("/dev/x")
            .typ(LinuxDeviceType::B)
            .major(-1)
            .build()
            .unwrap();
        assert!(from_spec(0, &neg).is_err());
        let root = LinuxDeviceBuilder::default()
            .path("/")
            .typ(LinuxDeviceType::C)
            .build()
            .unwrap();
        assert!(from_spec(0, &root).is_err());
    }
}
