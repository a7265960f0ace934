//! The seccomp(2) call that attaches a filter. No allocation here: it runs
//! between fork and exec.

use super::bpf::Insn;
use std::os::fd::{FromRawFd, OwnedFd};

/// Attaches `program` with `flags`; on failure returns the errno.
pub fn set_filter(program: &[Insn], flags: u32) -> Result<Option<OwnedFd>, i32> {
    let Ok(len) = u16::try_from(program.len()) else {
        return Err(libc::EINVAL);
    };
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads the program; `Insn` has sock_filter's layout.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `len` valid instructions that outlive the
    // call; seccomp(2) copies the program and touches no other memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL));
    }
    if u64::from(flags) & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        let Ok(fd) = i32::try_from(ret) else {
            return Err(libc::EBADF);
        };
        // SAFETY: with NEW_LISTENER, a non-negative return is a new fd that
        // nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if ret > 0 {
        // TSYNC without a listener: the id of a thread that could not sync.
        return Err(libc::ESRCH);
    }
    Ok(None)
}

/// One line saying why attaching the filter failed.
pub fn describe_failure(errno: i32, flags: u32) -> String {
    let cause = std::io::Error::from_raw_os_error(errno);
    let hint = match errno {
        libc::EACCES => " (set process.noNewPrivileges or keep CAP_SYS_ADMIN)",
        libc::EINVAL => " (the kernel may not support one of the requested flags or actions)",
        libc::ESRCH => " (SECCOMP_FILTER_FLAG_TSYNC: another thread could not be synchronized)",
        _ => "",
    };
    format!("seccomp: installing the filter (flags {flags:#x}) failed: {cause}{hint}")
}
