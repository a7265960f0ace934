//! Writes to the container's own procfs, refusing anything that is not
//! procfs (a bind mount or symlink planted over /proc by the image).
//! Stand-in until `sys::procfs` is merged.

use rustix::fs::{Mode, OFlags};
use std::io;
use std::os::fd::OwnedFd;

/// Opens `path` for writing, refusing a symlink as the last component and
/// any file that is not on procfs.
pub(super) fn open(path: &str) -> io::Result<OwnedFd> {
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let fs = rustix::fs::fstatfs(&fd)?;
    if fs.f_type as i64 != libc::PROC_SUPER_MAGIC {
        return Err(io::Error::other(format!("{path} is not on procfs")));
    }
    Ok(fd)
}

/// Writes `data` to `fd` (opened from `path`) with one write(2): LSM attr
/// files take a value only whole.
pub(super) fn write_fd(fd: &OwnedFd, path: &str, data: &[u8]) -> io::Result<()> {
    let n = rustix::io::write(fd, data)?;
    if n != data.len() {
        return Err(io::Error::other(format!(
            "short write to {path}: {n} of {} bytes",
            data.len()
        )));
    }
    Ok(())
}

/// [`open`] then [`write_fd`].
pub(super) fn write(path: &str, data: &[u8]) -> io::Result<()> {
    write_fd(&open(path)?, path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_outside_procfs_are_refused() {
        let dir = std::env::temp_dir().join(format!("berth-procfs-{}", std::process::id()));
        std::fs::write(&dir, b"").unwrap();
        let err = write(dir.to_str().unwrap(), b"1").unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.to_string().ends_with("is not on procfs"), "{err}");
    }

    #[test]
    fn writes_to_procfs_land() {
        // Writing the current value back is allowed and changes nothing.
        let now = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
        write("/proc/thread-self/comm", now.trim_end().as_bytes()).unwrap();
    }
}
