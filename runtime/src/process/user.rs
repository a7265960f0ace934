//! `process.user`: supplementary groups, gid, uid and umask.

use super::{describe, ProcessError};
use std::io;

/// The umask when `user.umask` is absent (what runc and crun set).
pub const DEFAULT_UMASK: u32 = 0o022;

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Whether /proc/self/setgroups says "deny" (a user namespace whose gid map
/// was written without CAP_SETGID, or with setgroups denied on purpose).
fn setgroups_denied() -> bool {
    std::fs::read("/proc/self/setgroups").is_ok_and(|v| v.starts_with(b"deny"))
}

/// Decides what a failed setgroups means: in a user namespace that denies
/// setgroups, asking for no groups is fine (there is nothing to drop to).
fn setgroups_failure(gids: &[u32], errno: Option<i32>, denied: bool) -> Option<ProcessError> {
    if errno == Some(libc::EPERM) && denied {
        if gids.is_empty() {
            return None;
        }
        return Some(ProcessError(format!(
            "process.user.additionalGids {gids:?}: setgroups is denied in this user namespace \
             (/proc/self/setgroups is \"deny\")"
        )));
    }
    let e = errno.map_or_else(|| io::Error::other("failed"), io::Error::from_raw_os_error);
    Some(ProcessError(format!(
        "process.user.additionalGids {gids:?}: setgroups: {}",
        describe(&e)
    )))
}

/// Replaces the supplementary groups with `gids`.
pub(super) fn set_groups(gids: &[u32]) -> Result<(), ProcessError> {
    // SAFETY: gids points at gids.len() valid gid_t values.
    let r = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
    if r == 0 {
        return Ok(());
    }
    let errno = last_error().raw_os_error();
    let denied = errno == Some(libc::EPERM) && setgroups_denied();
    match setgroups_failure(gids, errno, denied) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

fn unmapped_hint(errno: Option<i32>, maps: &str) -> String {
    if errno == Some(libc::EINVAL) {
        format!(" (is it mapped in linux.{maps}?)")
    } else {
        String::new()
    }
}

/// Sets the real, effective and saved gid.
pub(super) fn set_gid(gid: u32) -> Result<(), ProcessError> {
    // SAFETY: setresgid takes integer arguments only.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        let e = last_error();
        return Err(ProcessError(format!(
            "process.user.gid {gid}: setresgid: {}{}",
            describe(&e),
            unmapped_hint(e.raw_os_error(), "gidMappings")
        )));
    }
    Ok(())
}

/// Sets the real, effective and saved uid.
pub(super) fn set_uid(uid: u32) -> Result<(), ProcessError> {
    // SAFETY: setresuid takes integer arguments only.
    if unsafe { libc::setresuid(uid, uid, uid) } != 0 {
        let e = last_error();
        return Err(ProcessError(format!(
            "process.user.uid {uid}: setresuid: {}{}",
            describe(&e),
            unmapped_hint(e.raw_os_error(), "uidMappings")
        )));
    }
    Ok(())
}

/// Sets the umask (`None`: [`DEFAULT_UMASK`]).
pub(super) fn set_umask(umask: Option<u32>) {
    let mask = umask.unwrap_or(DEFAULT_UMASK) & 0o7777;
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_groups_are_fine_when_setgroups_is_denied() {
        assert!(setgroups_failure(&[], Some(libc::EPERM), true).is_none());
    }

    #[test]
    fn asked_groups_fail_clearly_when_setgroups_is_denied() {
        let e = setgroups_failure(&[5, 6], Some(libc::EPERM), true).unwrap();
        assert_eq!(
            e.to_string(),
            "process.user.additionalGids [5, 6]: setgroups is denied in this user namespace \
             (/proc/self/setgroups is \"deny\")"
        );
    }

    #[test]
    fn other_setgroups_failures_are_errors() {
        let e = setgroups_failure(&[], Some(libc::EPERM), false).unwrap();
        assert_eq!(
            e.to_string(),
            "process.user.additionalGids []: setgroups: Operation not permitted"
        );
    }
}
