//! `linux.personality`: the execution domain (LINUX or LINUX32).
//! It lives under `linux`, not `process`, so init calls [`apply`] itself.

use super::{describe, ProcessError};
use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain};
use std::io;

/// PER_LINUX32 from <linux/personality.h>.
const PER_LINUX32: libc::c_ulong = 0x0008;

/// The personality(2) value for `p`; the spec defines no flags yet, so any
/// flag is refused rather than ignored.
pub fn value(p: &LinuxPersonality) -> Result<libc::c_ulong, ProcessError> {
    if let Some(flag) = p.flags().iter().flatten().next() {
        return Err(ProcessError(format!(
            "linux.personality.flags: \"{flag}\" is not supported (the runtime-spec defines no flags)"
        )));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    })
}

/// Checks `p` before anything is started.
pub fn check(p: &LinuxPersonality) -> Result<(), ProcessError> {
    value(p).map(drop)
}

/// Sets the calling process's personality.
pub fn apply(p: &LinuxPersonality) -> Result<(), ProcessError> {
    let v = value(p)?;
    // SAFETY: personality takes one integer argument.
    let r = unsafe { libc::personality(v) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(ProcessError(format!(
            "linux.personality.domain {}: personality: {}",
            p.domain(),
            describe(&e)
        )));
    }
    Ok(())
}

/// The calling process's personality value.
pub fn get() -> libc::c_int {
    // SAFETY: 0xffffffff only queries the personality.
    unsafe { libc::personality(0xffff_ffff) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxPersonalityBuilder;

    #[test]
    fn personality_domains_map_to_kernel_values() {
        let p = LinuxPersonalityBuilder::default()
            .domain(LinuxPersonalityDomain::PerLinux32)
            .build()
            .unwrap();
        assert_eq!(value(&p).unwrap(), 8);
        let p = LinuxPersonalityBuilder::default()
            .domain(LinuxPersonalityDomain::PerLinux)
            .flags(vec!["ADDR_NO_RANDOMIZE".to_string()])
            .build()
            .unwrap();
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "linux.personality.flags: \"ADDR_NO_RANDOMIZE\" is not supported \
             (the runtime-spec defines no flags)"
        );
    }
}
