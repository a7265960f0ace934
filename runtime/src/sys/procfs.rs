//! A private, verified procfs handle for writes that must not be redirected
//! (sysctls, `attr/exec`, `oom_score_adj`, id maps).
//!
//! The handle is a detached procfs mount of our own (`fsopen("proc")`), or a
//! non-recursive `open_tree` clone of a real `/proc` (no overmounts come
//! along), checked with `fstatfs` to be procfs and with `fstat` to be its
//! root. Paths below it are opened with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//! | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS`, so neither a symlink nor a
//! bind mount over a /proc file can redirect a write (CVE-2019-16884,
//! CVE-2025-52881).

use rustix::fs::{self, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, OpenTreeFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of every procfs root.
const PROC_ROOT_INO: u64 = 1;

static HANDLE: OnceLock<OwnedFd> = OnceLock::new();

/// The process-wide procfs handle, made on first use.
pub fn handle() -> std::io::Result<BorrowedFd<'static>> {
    if let Some(fd) = HANDLE.get() {
        return Ok(fd.as_fd());
    }
    let fd = private_procfs().or_else(|_| clone_host_procfs())?;
    // A racing thread may have set it first; either handle is fine.
    let _ = HANDLE.set(fd);
    match HANDLE.get() {
        Some(fd) => Ok(fd.as_fd()),
        None => Err(std::io::Error::other("procfs handle vanished")),
    }
}

/// A fresh procfs instance of our pid namespace, never attached anywhere.
fn private_procfs() -> std::io::Result<OwnedFd> {
    let fs = rustix::mount::fsopen("proc", FsOpenFlags::FSOPEN_CLOEXEC)?;
    rustix::mount::fsconfig_create(&fs)?;
    let attrs = MountAttrFlags::MOUNT_ATTR_NOSUID
        | MountAttrFlags::MOUNT_ATTR_NODEV
        | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    let fd = rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?;
    verify(fd.as_fd())?;
    Ok(fd)
}

/// The top mount of `/proc` alone (not its submounts), verified.
fn clone_host_procfs() -> std::io::Result<OwnedFd> {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    let fd = rustix::mount::open_tree(rustix::fs::CWD, "/proc", flags)?;
    verify(fd.as_fd())?;
    Ok(fd)
}

/// Checks that `fd` is the root of a procfs.
fn verify(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    let sfs = fs::fstatfs(fd)?;
    let st = fs::fstat(fd)?;
    if sfs.f_type as i64 != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO {
        return Err(std::io::Error::other(format!(
            "procfs handle is not the root of a procfs (fs type {:#x}, inode {})",
            sfs.f_type as i64, st.st_ino
        )));
    }
    Ok(())
}

/// Opens `path` (relative to /proc, e.g. `sys/net/ipv4/ip_forward` or
/// `self/attr/exec`) through the verified handle. A leading `self` or
/// `thread-self` is replaced by the pid (and tid) the handle's procfs sees.
pub fn open_proc(path: &str, flags: OFlags) -> Result<OwnedFd, ProcError> {
    let path = path.trim_start_matches('/');
    let err = |source: std::io::Error| ProcError {
        path: path.to_string(),
        source,
    };
    let proc = handle().map_err(err)?;
    let resolved = resolve_self(proc, path).map_err(err)?;
    let resolve = ResolveFlags::BENEATH
        | ResolveFlags::NO_SYMLINKS
        | ResolveFlags::NO_XDEV
        | ResolveFlags::NO_MAGICLINKS;
    // openat2 refuses O_PATH with any flag it would ignore.
    let extra = if flags.contains(OFlags::PATH) {
        OFlags::CLOEXEC
    } else {
        OFlags::CLOEXEC | OFlags::NOCTTY
    };
    let flags = flags | extra;
    fs::openat2(proc, resolved.as_str(), flags, Mode::empty(), resolve).map_err(|e| err(e.into()))
}

/// A failed /proc access; `source` keeps the OS error (see `raw_os_error`).
#[derive(Debug, thiserror::Error)]
#[error("/proc/{path}: {source}")]
pub struct ProcError {
    /// The path below /proc, as asked for.
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

impl ProcError {
    /// The errno, e.g. `EPERM` when lowering `oom_score_adj` is refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// Writes `data` to `/proc/<path>` in a single `write`, through the verified
/// handle (see [`open_proc`]).
pub fn write_proc(path: &str, data: &[u8]) -> Result<(), ProcError> {
    let fd = open_proc(path, OFlags::WRONLY)?;
    let err = |source: std::io::Error| ProcError {
        path: path.trim_start_matches('/').to_string(),
        source,
    };
    let written = rustix::io::write(&fd, data).map_err(|e| err(e.into()))?;
    if written != data.len() {
        let msg = format!("short write ({written} of {} bytes)", data.len());
        return Err(err(std::io::Error::other(msg)));
    }
    Ok(())
}

/// True when the handle's procfs numbers processes as we do (it belongs to
/// our pid namespace), so "/proc/<pid>" paths built from our pids are right.
pub fn in_our_pid_namespace() -> bool {
    let Ok(proc) = handle() else {
        return false;
    };
    let Ok(target) = fs::readlinkat(proc, "self", Vec::new()) else {
        return false;
    };
    target.to_str()
        == Ok(rustix::process::getpid()
            .as_raw_nonzero()
            .to_string()
            .as_str())
}

/// Replaces a leading `self` / `thread-self` by what those symlinks name in
/// this procfs (they are plain symlinks, refused by RESOLVE_NO_SYMLINKS).
fn resolve_self(proc: BorrowedFd<'_>, path: &str) -> std::io::Result<String> {
    let (first, rest) = match path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    if first != "self" && first != "thread-self" {
        return Ok(path.to_string());
    }
    let target = fs::readlinkat(proc, first, Vec::new())?;
    let target = target.to_str().map_err(|_| Errno::INVAL)?;
    if !is_pid_link(target) {
        return Err(std::io::Error::other(format!(
            "/proc/{first} names \"{target}\", not a pid"
        )));
    }
    Ok(match rest {
        Some(rest) => format!("{target}/{rest}"),
        None => target.to_string(),
    })
}

/// `123` or `123/task/456`: what `self` and `thread-self` may point to.
fn is_pid_link(target: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match target.split('/').collect::<Vec<_>>().as_slice() {
        [pid] => digits(pid),
        [pid, "task", tid] => digits(pid) && digits(tid),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_pid_link_accepts_only_pids_and_tasks() {
        assert!(is_pid_link("42"));
        assert!(is_pid_link("42/task/43"));
        assert!(!is_pid_link(""));
        assert!(!is_pid_link("../42"));
        assert!(!is_pid_link("42/task"));
        assert!(!is_pid_link("/42"));
    }

    #[test]
    fn open_proc_reads_our_own_status_through_self() {
        let fd = open_proc("self/status", OFlags::RDONLY).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text).unwrap();
        let pid_line = format!("Pid:\t{}", std::process::id());
        assert!(text.lines().any(|l| l == pid_line), "{text}");
    }

    #[test]
    fn write_proc_reaches_the_calling_thread_through_thread_self() {
        let name = std::thread::spawn(|| {
            write_proc("thread-self/comm", b"berth-probe").unwrap();
            std::fs::read_to_string("/proc/thread-self/comm").unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(name.trim_end(), "berth-probe");
    }

    #[test]
    fn write_proc_names_the_path_and_keeps_the_errno() {
        let err = write_proc("sys/kernel/no-such-sysctl", b"1").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert!(
            err.to_string()
                .starts_with("/proc/sys/kernel/no-such-sysctl: "),
            "{err}"
        );
    }

    #[test]
    fn the_handle_sees_our_pid_namespace() {
        assert!(in_our_pid_namespace());
    }

    #[test]
    fn open_proc_refuses_to_climb_out() {
        let err = open_proc("../etc/passwd", OFlags::RDONLY).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EXDEV), "{err}");
    }

    #[test]
    fn open_proc_refuses_magic_links() {
        // self/root is a magic link to "/": never followed.
        let err = open_proc("self/root/etc/passwd", OFlags::RDONLY).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    }
}
