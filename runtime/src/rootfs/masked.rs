//! `linux.maskedPaths`, `linux.readonlyPaths` and `root.readonly`, applied
//! after pivot_root, every target resolved inside the new root.

use super::RootfsError;
use crate::sys::mountapi::{self, AttrChange, MOUNT_ATTR_RDONLY};
use crate::sys::resolve;
use rustix::fs::{self, FileType, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

const READ_ONLY: AttrChange = AttrChange {
    set: MOUNT_ATTR_RDONLY,
    clr: 0,
    propagation: 0,
};

/// Opens the container's /dev/null and checks it really is the null device
/// (char 1:3) and was reached without any symlink: a /dev/null swapped for
/// a symlink must not turn masking into a bind of an arbitrary file
/// (CVE-2025-31133).
pub fn open_verified_dev_null(root: BorrowedFd<'_>) -> Result<OwnedFd, RootfsError> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let fd = fs::openat2(
        root,
        "dev/null",
        OFlags::PATH | OFlags::CLOEXEC,
        fs::Mode::empty(),
        resolve,
    )
    .map_err(|e| {
        RootfsError(format!(
            "maskedPaths: opening /dev/null without symlinks: {e}"
        ))
    })?;
    let st =
        fs::fstat(&fd).map_err(|e| RootfsError(format!("maskedPaths: stat of /dev/null: {e}")))?;
    let is_char = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice;
    if !is_char || fs::major(st.st_rdev) != 1 || fs::minor(st.st_rdev) != 3 {
        return Err(RootfsError(
            "maskedPaths: /dev/null is not the null device (char 1:3); refusing to bind it".into(),
        ));
    }
    Ok(fd)
}

/// Masks each path: a file is covered by /dev/null, a directory by an empty
/// read-only tmpfs. Paths that do not exist are skipped.
pub fn mask_paths(root: BorrowedFd<'_>, paths: &[String]) -> Result<(), RootfsError> {
    let mut dev_null: Option<OwnedFd> = None;
    for (i, path) in paths.iter().enumerate() {
        let err = |what: String| RootfsError(format!("linux.maskedPaths[{i}] \"{path}\": {what}"));
        let Some(target) = open_target(root, path).map_err(|e| err(e.to_string()))? else {
            continue;
        };
        let st = fs::fstat(&target).map_err(|e| err(format!("stat: {e}")))?;
        let tree = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            mountapi::new_fs("tmpfs", Some("tmpfs"), &[], MOUNT_ATTR_RDONLY)
                .map_err(|e| err(format!("tmpfs: {e}")))?
        } else {
            if dev_null.is_none() {
                dev_null = Some(open_verified_dev_null(root)?);
            }
            let null = dev_null
                .as_ref()
                .map(|fd| fd.as_fd())
                .ok_or_else(|| err("no /dev/null".into()))?;
            mountapi::clone_fd(null, false).map_err(|e| err(format!("cloning /dev/null: {e}")))?
        };
        mountapi::attach(tree.as_fd(), target.as_fd())
            .map_err(|e| err(format!("attaching: {e}")))?;
    }
    Ok(())
}

/// Makes each path (and everything mounted below it) read-only.
pub fn readonly_paths(root: BorrowedFd<'_>, paths: &[String]) -> Result<(), RootfsError> {
    for (i, path) in paths.iter().enumerate() {
        let err =
            |what: String| RootfsError(format!("linux.readonlyPaths[{i}] \"{path}\": {what}"));
        let Some(target) = open_target(root, path).map_err(|e| err(e.to_string()))? else {
            continue;
        };
        // A detached recursive clone, made read-only before anyone can see it,
        // then attached over the original.
        let tree =
            mountapi::clone_fd(target.as_fd(), true).map_err(|e| err(format!("clone: {e}")))?;
        mountapi::set_attr(tree.as_fd(), true, READ_ONLY, None)
            .map_err(|e| err(format!("read-only: {e}")))?;
        mountapi::attach(tree.as_fd(), target.as_fd())
            .map_err(|e| err(format!("attaching: {e}")))?;
    }
    Ok(())
}

/// `root.readonly`: the root mount itself becomes read-only (not its submounts).
pub fn readonly_root(root: BorrowedFd<'_>) -> Result<(), RootfsError> {
    mountapi::set_attr(root, false, READ_ONLY, None)
        .map_err(|e| RootfsError(format!("root.readonly: remounting / read-only: {e}")))
}

/// The target resolved inside the root, or None when it does not exist.
fn open_target(root: BorrowedFd<'_>, path: &str) -> Result<Option<OwnedFd>, Errno> {
    let rel = resolve::clean_in_root(Path::new(path));
    match resolve::open_in_root(root, &rel, OFlags::PATH) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}
