//! File descriptor hygiene for the container's processes.

use std::os::fd::RawFd;

/// Closes every descriptor from 3 up except those in `keep`.
///
/// Runs right after fork, so no descriptor of berth (state dir, cgroup dirs,
/// the log file...) can reach the container (CVE-2024-21626).
pub fn close_all_except(keep: &[RawFd]) -> std::io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&fd| fd >= 3).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut first: u32 = 3;
    for &k in &keep {
        let k = k as u32;
        if k > first {
            close_range(first, k - 1)?;
        }
        first = k + 1;
    }
    close_range(first, u32::MAX)
}

fn close_range(first: u32, last: u32) -> std::io::Result<()> {
    // SAFETY: close_range only closes descriptors; the caller decided that
    // nothing in this range is in use any more.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Clears FD_CLOEXEC so `fd` survives execve (for `--preserve-fds`).
pub fn clear_cloexec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on an integer fd has no memory effects; a bad fd is EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets FD_CLOEXEC so `fd` closes at execve.
pub fn set_cloexec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on an integer fd has no memory effects; a bad fd is EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
