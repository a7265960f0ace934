//! `process.noNewPrivileges`: PR_SET_NO_NEW_PRIVS.

use super::{describe, ProcessError};
use std::io;

/// Sets no_new_privs on the calling thread; execve keeps it, setuid bits
/// and file capabilities stop working.
pub(super) fn set() -> Result<(), ProcessError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(ProcessError(format!(
            "process.noNewPrivileges: prctl PR_SET_NO_NEW_PRIVS: {}",
            describe(&e)
        )));
    }
    Ok(())
}
