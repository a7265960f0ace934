//! fork, or clone3 with CLONE_INTO_CGROUP: the child starts life inside a
//! cgroup v2 directory, which saves the cgroup.procs write (and its
//! migration) on every container start.

use std::os::fd::{AsRawFd, BorrowedFd};

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// struct clone_args (linux/sched.h), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What the caller is after a fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// In the child.
    Child,
    /// In the parent; `placed` says whether the child already is in the
    /// requested cgroup.
    Parent {
        /// The child's pid.
        pid: i32,
        /// True when CLONE_INTO_CGROUP put it there.
        placed: bool,
    },
}

/// Forks, straight into the cgroup `cgroup_dir` when given and the kernel
/// can (5.7+); otherwise a plain fork (the caller then places the child).
///
/// # Safety
/// As fork: the caller must be single-threaded, or the child may only do
/// async-signal-safe work.
pub unsafe fn fork_into(cgroup_dir: Option<BorrowedFd<'_>>) -> std::io::Result<Forked> {
    if let Some(dir) = cgroup_dir {
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir.as_raw_fd() as u64,
            ..Default::default()
        };
        // SAFETY: clone3 without CLONE_VM and without a stack behaves like
        // fork (the child continues here on a copy of our memory); the
        // caller guarantees fork is safe at this point.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match r {
            0 => return Ok(Forked::Child),
            pid if pid > 0 => {
                return Ok(Forked::Parent {
                    pid: pid as i32,
                    placed: true,
                })
            }
            _ => {
                let e = std::io::Error::last_os_error();
                // Older kernels (no clone3 or no CLONE_INTO_CGROUP): fork.
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS) | Some(libc::E2BIG) | Some(libc::EINVAL)
                ) {
                    return Err(e);
                }
            }
        }
    }
    // SAFETY: the caller guarantees fork is safe here.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent {
            pid: child.as_raw(),
            placed: false,
        }),
    }
}
