//! What the `features` command reports about seccomp: the names this
//! runtime knows and what the running kernel supports.

use super::arch;

const ACTIONS: [(&str, u32); 9] = [
    ("SCMP_ACT_KILL", libc::SECCOMP_RET_KILL_THREAD),
    ("SCMP_ACT_KILL_PROCESS", libc::SECCOMP_RET_KILL_PROCESS),
    ("SCMP_ACT_KILL_THREAD", libc::SECCOMP_RET_KILL_THREAD),
    ("SCMP_ACT_TRAP", libc::SECCOMP_RET_TRAP),
    ("SCMP_ACT_ERRNO", libc::SECCOMP_RET_ERRNO),
    ("SCMP_ACT_TRACE", libc::SECCOMP_RET_TRACE),
    ("SCMP_ACT_ALLOW", libc::SECCOMP_RET_ALLOW),
    ("SCMP_ACT_LOG", libc::SECCOMP_RET_LOG),
    ("SCMP_ACT_NOTIFY", libc::SECCOMP_RET_USER_NOTIF),
];

const FLAGS: [(&str, libc::c_ulong); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    ),
];

/// Every SCMP_ACT_* name a profile may use.
pub fn known_actions() -> Vec<&'static str> {
    ACTIONS.iter().map(|(n, _)| *n).collect()
}

/// The actions the running kernel supports (SECCOMP_GET_ACTION_AVAIL).
pub fn supported_actions() -> Vec<&'static str> {
    ACTIONS
        .iter()
        .filter(|(_, action)| {
            // SAFETY: GET_ACTION_AVAIL reads one u32 from the pointer.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_GET_ACTION_AVAIL,
                    0,
                    action as *const u32,
                )
            };
            r == 0
        })
        .map(|(n, _)| *n)
        .collect()
}

/// Every SCMP_CMP_* operator name.
pub fn operators() -> Vec<&'static str> {
    vec![
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ]
}

/// Every SCMP_ARCH_* name a profile may use.
pub fn architectures() -> Vec<&'static str> {
    arch::names()
}

/// Every SECCOMP_FILTER_FLAG_* name a profile may use.
pub fn known_flags() -> Vec<&'static str> {
    FLAGS.iter().map(|(n, _)| *n).collect()
}

/// The flags the running kernel accepts. A NULL program makes seccomp(2)
/// fail: with EFAULT once the flags passed its checks, EINVAL if not.
pub fn supported_flags() -> Vec<&'static str> {
    FLAGS
        .iter()
        .filter(|(_, flag)| {
            let mut flags = *flag;
            if flags == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
                // Only valid together with a listener.
                flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
            }
            // SAFETY: a NULL program is never read; the call fails before
            // attaching anything.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    flags,
                    std::ptr::null::<libc::sock_fprog>(),
                )
            };
            r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
        })
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};

    #[test]
    fn every_name_is_one_oci_spec_accepts() {
        for n in known_actions() {
            assert!(
                serde_json::from_value::<LinuxSeccompAction>(n.into()).is_ok(),
                "{n}"
            );
        }
        for n in operators() {
            assert!(
                serde_json::from_value::<LinuxSeccompOperator>(n.into()).is_ok(),
                "{n}"
            );
        }
        for n in known_flags() {
            assert!(
                serde_json::from_value::<LinuxSeccompFilterFlag>(n.into()).is_ok(),
                "{n}"
            );
        }
    }

    /// Kernel 6.18 has every action and flag; an older kernel would list fewer.
    #[test]
    fn this_kernel_supports_every_action_and_flag() {
        assert_eq!(supported_actions(), known_actions());
        assert_eq!(supported_flags(), known_flags());
    }
}
