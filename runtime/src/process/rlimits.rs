//! `process.rlimits`: setrlimit for each entry.

use super::{describe, ProcessError};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};
use std::io;

/// The kernel's resource number for a spec rlimit type.
pub(super) fn resource(typ: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType as T;
    match typ {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// The current (soft, hard) limits of `typ` for the calling process.
pub(super) fn current(typ: PosixRlimitType) -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource(typ), &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Shows a limit the way `ulimit` does: RLIM_INFINITY as "unlimited".
pub(super) fn show(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Sets every rlimit; the first failure names its index, type and values.
pub(super) fn apply(rlimits: &[PosixRlimit]) -> Result<(), ProcessError> {
    for (i, r) in rlimits.iter().enumerate() {
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: lim is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(resource(r.typ()), &lim) } == 0 {
            continue;
        }
        let err = io::Error::last_os_error();
        let mut msg = format!(
            "process.rlimits[{i}]: setrlimit {} {}/{}: {}",
            r.typ(),
            show(r.soft()),
            show(r.hard()),
            describe(&err)
        );
        if err.raw_os_error() == Some(libc::EPERM) {
            if let Ok((_, hard)) = current(r.typ()) {
                if r.hard() > hard {
                    msg.push_str(&format!(
                        " (the hard limit is {}; raising it needs CAP_SYS_RESOURCE)",
                        show(hard)
                    ));
                }
            }
        }
        return Err(ProcessError(msg));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_types_map_to_kernel_resources() {
        assert_eq!(resource(PosixRlimitType::RlimitNofile), libc::RLIMIT_NOFILE);
        assert_eq!(resource(PosixRlimitType::RlimitRttime), libc::RLIMIT_RTTIME);
        assert_eq!(PosixRlimitType::RlimitNofile.to_string(), "RLIMIT_NOFILE");
        assert_eq!(show(u64::MAX), "unlimited");
    }
}
