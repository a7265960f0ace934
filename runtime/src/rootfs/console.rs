//! /dev/console: the console pty's slave bound on it, by descriptor.
//!
//! The slave is cloned from its open descriptor (never from a /dev/pts/N
//! path) and attached onto a /dev/console resolved inside the root, where
//! any symlink or other entry the image left is replaced by an empty file
//! first (CVE-2025-52565).

use super::RootfsError;
use crate::sys::mountapi;
use crate::sys::resolve;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// Bind-mounts the terminal open as `slave` onto `<root>/dev/console`;
/// `root` is "/" after [`super::enter`], or the rootfs path before.
pub fn mount_console(root: &Path, slave: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let err = |what: String| RootfsError(format!("/dev/console: {what}"));
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(format!("opening the root \"{}\": {e}", root.display())))?;
    let dev = resolve::ensure_dir(root_fd.as_fd(), Path::new("dev"))
        .map_err(|e| err(format!("/dev: {e}")))?;
    let name = OsStr::new("console");
    // Keep a regular file the image (or devpts setup) left; replace anything else.
    let target = match resolve::open_beneath(dev.as_fd(), name, OFlags::PATH) {
        Ok(fd) if is_regular(&fd) => fd,
        Ok(_) | Err(Errno::LOOP) => {
            resolve::remove_entry(dev.as_fd(), name)
                .map_err(|e| err(format!("removing the old entry: {e}")))?;
            new_target(dev.as_fd(), name).map_err(err)?
        }
        Err(Errno::NOENT) => new_target(dev.as_fd(), name).map_err(err)?,
        Err(e) => return Err(err(format!("opening: {e}"))),
    };
    let tree =
        mountapi::clone_fd(slave, false).map_err(|e| err(format!("cloning the pty slave: {e}")))?;
    mountapi::attach(tree.as_fd(), target.as_fd()).map_err(|e| err(format!("attaching: {e}")))
}

fn is_regular(fd: &impl AsFd) -> bool {
    rustix::fs::fstat(fd)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
}

fn new_target(dev: BorrowedFd<'_>, name: &OsStr) -> Result<std::os::fd::OwnedFd, String> {
    resolve::create_empty_file(dev, name).map_err(|e| format!("creating: {e}"))?;
    resolve::open_beneath(dev, name, OFlags::PATH).map_err(|e| format!("opening: {e}"))
}
