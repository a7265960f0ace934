//! A user namespace carrying given uid/gid maps, for idmapped mounts.
//!
//! A child is cloned straight into a new user namespace and only sleeps; we
//! write its maps through the verified procfs handle, keep a descriptor of
//! its namespace and kill it. The namespace lives on through the descriptor.

use super::procfs;
use rustix::fs::{Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};

/// Kills and reaps the helper child, whatever happens.
struct Child(libc::pid_t);

impl Drop for Child {
    fn drop(&mut self) {
        // SAFETY: plain syscalls on a pid we created and have not reaped.
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

/// Returns a descriptor of a new user namespace whose `uid_map` and
/// `gid_map` hold `uid_map` and `gid_map` ("inside outside count" lines).
pub fn userns_with_maps(uid_map: &str, gid_map: &str) -> std::io::Result<OwnedFd> {
    // The child's pid must mean the same process in the procfs we write to.
    if !procfs::in_our_pid_namespace() {
        return Err(std::io::Error::other(
            "the procfs handle belongs to another pid namespace",
        ));
    }
    // SAFETY: clone without CLONE_VM is fork(); the child runs only
    // async-signal-safe syscalls (prctl, pause) and never returns to Rust.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid == 0 {
        // SAFETY: async-signal-safe calls only; the parent kills us.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            loop {
                libc::pause();
            }
        }
    }
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let child = Child(pid as libc::pid_t);
    let to_io = |e: procfs::ProcError| std::io::Error::other(e.to_string());
    procfs::write_proc(&format!("{}/uid_map", child.0), uid_map.as_bytes()).map_err(to_io)?;
    procfs::write_proc(&format!("{}/gid_map", child.0), gid_map.as_bytes()).map_err(to_io)?;
    let ns_dir = procfs::open_proc(&format!("{}/ns", child.0), OFlags::PATH | OFlags::DIRECTORY)
        .map_err(to_io)?;
    // "user" is a magic link to the child's namespace: the one we want.
    let fd = rustix::fs::openat(
        ns_dir.as_fd(),
        "user",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    drop(child);
    Ok(fd)
}
