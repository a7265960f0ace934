//! The new mount API (`open_tree`, `fsopen`/`fsmount`, `move_mount`,
//! `mount_setattr`), used so every mount is attached through a descriptor
//! that was resolved once, never through a path string re-resolved later.

use rustix::io::Errno;
use rustix::mount::{
    self, FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

pub const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;
pub const MOUNT_ATTR_NOSUID: u64 = 0x0000_0002;
pub const MOUNT_ATTR_NODEV: u64 = 0x0000_0004;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x0000_0008;
/// The mask of the atime mode field (one value, not independent bits).
pub const MOUNT_ATTR__ATIME: u64 = 0x0000_0070;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0000_0000;
pub const MOUNT_ATTR_NOATIME: u64 = 0x0000_0010;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x0000_0020;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x0000_0080;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// Propagation types, as `mount(2)` spells them.
pub const MS_UNBINDABLE: u64 = libc::MS_UNBINDABLE;
pub const MS_PRIVATE: u64 = libc::MS_PRIVATE;
pub const MS_SLAVE: u64 = libc::MS_SLAVE;
pub const MS_SHARED: u64 = libc::MS_SHARED;

/// `struct mount_attr` (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// What `mount_setattr` should change on a mount (or, recursively, a tree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttrChange {
    pub set: u64,
    pub clr: u64,
    /// One of the `MS_*` propagation types, or 0 to leave it.
    pub propagation: u64,
}

impl AttrChange {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clr == 0 && self.propagation == 0
    }
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], ...)`: `fd` must
/// be the root of a mount (attached, or detached from `open_tree`/`fsmount`).
pub fn set_attr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    change: AttrChange,
    userns: Option<BorrowedFd<'_>>,
) -> Result<(), Errno> {
    if change.is_empty() && userns.is_none() {
        return Ok(());
    }
    let attr = MountAttr {
        attr_set: change.set,
        attr_clr: change.clr,
        propagation: change.propagation,
        userns_fd: userns.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is a valid NUL-terminated empty string, `attr` is a
    // live, correctly laid out `struct mount_attr` whose size we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    }
}

/// A detached copy of the mount at `path` (relative to `dir`), with its
/// submounts when `recursive`: the source side of a bind mount.
pub fn clone_tree(dir: BorrowedFd<'_>, path: &Path, recursive: bool) -> Result<OwnedFd, Errno> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    if path.as_os_str().is_empty() {
        flags |= OpenTreeFlags::AT_EMPTY_PATH;
    }
    mount::open_tree(dir, path, flags)
}

/// A detached copy of whatever `fd` refers to (file or directory).
pub fn clone_fd(fd: BorrowedFd<'_>, recursive: bool) -> Result<OwnedFd, Errno> {
    clone_tree(fd, Path::new(""), recursive)
}

/// Attaches the detached mount `tree` on top of the resolved `target`.
pub fn attach(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<(), Errno> {
    mount::move_mount(
        tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
}

/// One filesystem parameter for `fsconfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsParam<'a> {
    /// `key` alone (`FSCONFIG_SET_FLAG`).
    Flag(&'a str),
    /// `key=value` (`FSCONFIG_SET_STRING`).
    Value(&'a str, &'a str),
}

/// Creates a new, detached filesystem mount: `fsopen(fstype)`, the source and
/// parameters, `fsmount` with the per-mount `attrs`. On failure the error
/// carries the kernel's own message from the filesystem context, if any.
pub fn new_fs(
    fstype: &str,
    source: Option<&str>,
    params: &[FsParam<'_>],
    attrs: u64,
) -> Result<OwnedFd, FsError> {
    let fs = mount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC).map_err(FsError::plain)?;
    let with_log = |errno: Errno, what: String| FsError {
        errno,
        what,
        log: read_fs_log(fs.as_fd()),
    };
    if let Some(source) = source {
        mount::fsconfig_set_string(&fs, "source", source)
            .map_err(|e| with_log(e, format!("source \"{source}\"")))?;
    }
    for param in params {
        match *param {
            FsParam::Flag(key) => mount::fsconfig_set_flag(&fs, key),
            FsParam::Value(key, value) => mount::fsconfig_set_string(&fs, key, value),
        }
        .map_err(|e| with_log(e, format!("option {param}")))?;
    }
    mount::fsconfig_create(&fs).map_err(|e| with_log(e, "creating the filesystem".into()))?;
    // fsmount takes only the 32-bit attribute flags.
    let attr_flags = MountAttrFlags::from_bits_retain((attrs & 0xffff_ffff) as u32);
    mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attr_flags)
        .map_err(|e| with_log(e, "fsmount".into()))
}

impl std::fmt::Display for FsParam<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsParam::Flag(key) => write!(f, "\"{key}\""),
            FsParam::Value(key, value) => write!(f, "\"{key}={value}\""),
        }
    }
}

/// A failed `fsopen`/`fsconfig`/`fsmount` step.
#[derive(Debug)]
pub struct FsError {
    pub errno: Errno,
    /// Which step failed, e.g. `option "size=1x"`.
    pub what: String,
    /// The kernel's message from the filesystem context.
    pub log: Option<String>,
}

impl FsError {
    fn plain(errno: Errno) -> Self {
        FsError {
            errno,
            what: "fsopen".into(),
            log: None,
        }
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, std::io::Error::from(self.errno))?;
        if let Some(log) = &self.log {
            write!(f, " (kernel: {log})")?;
        }
        Ok(())
    }
}

/// Reads the messages the kernel queued on a filesystem context.
fn read_fs_log(fs: BorrowedFd<'_>) -> Option<String> {
    let mut messages = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = rustix::io::read(fs, &mut buf) {
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf[..n]);
        // Each message is "e|w|i <text>".
        messages.push(text.get(2..).unwrap_or(&text).trim().to_string());
    }
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// Reconfigures the superblock under the mount root `fd` (`fspick` +
/// `FSCONFIG_CMD_RECONFIGURE`): the fd-based form of a `remount` with data.
pub fn reconfigure(fd: BorrowedFd<'_>, params: &[FsParam<'_>]) -> Result<(), FsError> {
    let flags = mount::FsPickFlags::FSPICK_CLOEXEC | mount::FsPickFlags::FSPICK_EMPTY_PATH;
    let fs = mount::fspick(fd, "", flags).map_err(|errno| FsError {
        errno,
        what: "fspick".into(),
        log: None,
    })?;
    let with_log = |errno: Errno, what: String| FsError {
        errno,
        what,
        log: read_fs_log(fs.as_fd()),
    };
    for param in params {
        match *param {
            FsParam::Flag(key) => mount::fsconfig_set_flag(&fs, key),
            FsParam::Value(key, value) => mount::fsconfig_set_string(&fs, key, value),
        }
        .map_err(|e| with_log(e, format!("option {param}")))?;
    }
    mount::fsconfig_reconfigure(&fs).map_err(|e| with_log(e, "reconfigure".into()))
}
