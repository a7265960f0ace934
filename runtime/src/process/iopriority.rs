//! `process.ioPriority`: ioprio_set(2) on the calling process; everything
//! it starts inherits the value.

use super::{describe, ProcessError};
use oci_spec::runtime::{IOPriorityClass, LinuxIOPriority};
use std::io;

const IOPRIO_CLASS_SHIFT: u32 = 13;
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// The kernel's class number.
fn class_number(c: IOPriorityClass) -> u32 {
    match c {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    }
}

/// The ioprio value for `p`, checking that its priority is 0..=7.
pub fn value(p: &LinuxIOPriority) -> Result<libc::c_int, ProcessError> {
    let prio = p.priority();
    if !(0..=7).contains(&prio) {
        return Err(ProcessError(format!(
            "process.ioPriority.priority {prio} is out of range 0..=7"
        )));
    }
    Ok(((class_number(p.class()) << IOPRIO_CLASS_SHIFT) | prio as u32) as libc::c_int)
}

/// Sets the calling process's I/O priority.
pub(super) fn apply(p: &LinuxIOPriority) -> Result<(), ProcessError> {
    let v = value(p)?;
    // SAFETY: ioprio_set takes integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(ProcessError(format!(
            "process.ioPriority: ioprio_set {} {}: {}",
            p.class(),
            p.priority(),
            describe(&e)
        )));
    }
    Ok(())
}

/// Reads the I/O priority value of process `pid` (0 = the caller).
pub fn get(pid: libc::pid_t) -> io::Result<libc::c_int> {
    // SAFETY: ioprio_get takes integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, pid) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as libc::c_int)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxIOPriorityBuilder;

    #[test]
    fn io_priority_value_packs_class_and_level() {
        let p = LinuxIOPriorityBuilder::default()
            .class(IOPriorityClass::IoprioClassIdle)
            .priority(4)
            .build()
            .unwrap();
        assert_eq!(value(&p).unwrap(), (3 << 13) | 4);
        let p = LinuxIOPriorityBuilder::default()
            .class(IOPriorityClass::IoprioClassBe)
            .priority(8)
            .build()
            .unwrap();
        assert_eq!(
            value(&p).unwrap_err().to_string(),
            "process.ioPriority.priority 8 is out of range 0..=7"
        );
    }
}
