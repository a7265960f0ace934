//! `process.scheduler`: one sched_setattr(2) call.

use super::{describe, ProcessError};
use oci_spec::runtime::{LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler};
use std::io;

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedAttr {
    /// Size of this structure.
    pub size: u32,
    /// SCHED_* policy number.
    pub sched_policy: u32,
    /// SCHED_FLAG_* bits.
    pub sched_flags: u64,
    /// Nice value (SCHED_OTHER, SCHED_BATCH).
    pub sched_nice: i32,
    /// Static priority (SCHED_FIFO, SCHED_RR).
    pub sched_priority: u32,
    /// SCHED_DEADLINE runtime, ns.
    pub sched_runtime: u64,
    /// SCHED_DEADLINE deadline, ns.
    pub sched_deadline: u64,
    /// SCHED_DEADLINE period, ns.
    pub sched_period: u64,
    /// Utilization clamp minimum.
    pub sched_util_min: u32,
    /// Utilization clamp maximum.
    pub sched_util_max: u32,
}

/// The kernel's policy number; `None` for SCHED_ISO, which was never merged.
fn policy_number(p: LinuxSchedulerPolicy) -> Option<u32> {
    use LinuxSchedulerPolicy as P;
    match p {
        P::SchedOther => Some(0),
        P::SchedFifo => Some(1),
        P::SchedRr => Some(2),
        P::SchedBatch => Some(3),
        P::SchedIso => None,
        P::SchedIdle => Some(5),
        P::SchedDeadline => Some(6),
    }
}

fn flag_bit(f: LinuxSchedulerFlag) -> u64 {
    use LinuxSchedulerFlag as F;
    match f {
        F::SchedResetOnFork => 0x01,
        F::SchedFlagReclaim => 0x02,
        F::SchedFlagDLOverrun => 0x04,
        F::SchedFlagKeepPolicy => 0x08,
        F::SchedFlagKeepParams => 0x10,
        F::SchedFlagUtilClampMin => 0x20,
        F::SchedFlagUtilClampMax => 0x40,
    }
}

/// The smallest SCHED_DEADLINE runtime the kernel accepts (1 << DL_SCALE).
const DL_MIN_RUNTIME: u64 = 1 << 10;

/// Builds and checks the `sched_attr` for `s`; unset fields are 0, as the
/// spec says. Errors name the field, value and the accepted range.
pub fn attr(s: &Scheduler) -> Result<SchedAttr, ProcessError> {
    let policy = *s.policy();
    let err = |msg: String| Err(ProcessError(format!("process.scheduler: {msg}")));
    let Some(number) = policy_number(policy) else {
        return err(format!(
            "policy {policy} is not implemented by the Linux kernel"
        ));
    };
    let nice = s.nice().unwrap_or(0);
    let priority = s.priority().unwrap_or(0);
    let runtime = s.runtime().unwrap_or(0);
    let deadline = s.deadline().unwrap_or(0);
    let period = s.period().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return err(format!("nice {nice} is out of range -20..=19"));
    }
    let realtime = matches!(
        policy,
        LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
    );
    if realtime && !(1..=99).contains(&priority) {
        return err(format!(
            "priority {priority} is out of range 1..=99 for {policy}"
        ));
    }
    if !realtime && priority != 0 {
        return err(format!(
            "priority {priority} must be 0 for {policy} (only SCHED_FIFO and SCHED_RR use it)"
        ));
    }
    if policy == LinuxSchedulerPolicy::SchedDeadline {
        if runtime < DL_MIN_RUNTIME {
            return err(format!(
                "runtime {runtime} is below {DL_MIN_RUNTIME} ns, the least SCHED_DEADLINE accepts"
            ));
        }
        if deadline < runtime {
            return err(format!("deadline {deadline} is below runtime {runtime}"));
        }
        if period != 0 && period < deadline {
            return err(format!("period {period} is below deadline {deadline}"));
        }
    }
    let flags = s.flags().iter().flatten().fold(0, |m, f| m | flag_bit(*f));
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: number,
        sched_flags: flags,
        sched_nice: nice,
        sched_priority: priority as u32,
        sched_runtime: runtime,
        sched_deadline: deadline,
        sched_period: period,
        sched_util_min: 0,
        sched_util_max: 0,
    })
}

/// Applies `s` to the calling thread (children and the exec'd program
/// inherit it).
pub(super) fn apply(s: &Scheduler) -> Result<(), ProcessError> {
    let a = attr(s)?;
    // SAFETY: a is a valid sched_attr whose size field matches its layout;
    // the kernel only reads it.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(ProcessError(format!(
            "process.scheduler: sched_setattr {} nice {} priority {}: {}",
            s.policy(),
            a.sched_nice,
            a.sched_priority,
            describe(&e)
        )));
    }
    Ok(())
}

/// Reads the scheduling attributes of `pid` (0 = calling thread).
pub fn get(pid: libc::pid_t) -> io::Result<SchedAttr> {
    let mut a = SchedAttr::default();
    let size = std::mem::size_of::<SchedAttr>() as libc::c_uint;
    // SAFETY: a is writable and `size` bytes long.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            pid,
            &mut a as *mut SchedAttr,
            size,
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(a)
}

/// Spec flag names that oci-spec 0.10 spells differently (its serde names
/// come from the Rust variant names).
const FLAG_RENAMES: &[(&str, &str)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
];

/// Rewrites the spec's names in `process.scheduler.flags` of a raw
/// `process` JSON object into the ones oci-spec 0.10 parses, so a
/// config.json written to runtime-spec v1.3.0 loads. Call it on the
/// `process` value before deserializing.
pub fn normalize_flag_names(process: &mut serde_json::Value) {
    let Some(flags) = process
        .pointer_mut("/scheduler/flags")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for flag in flags {
        if let Some((_, ours)) = FLAG_RENAMES.iter().find(|(spec, _)| flag == *spec) {
            *flag = serde_json::Value::from(*ours);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::SchedulerBuilder;

    fn sched(policy: LinuxSchedulerPolicy) -> SchedulerBuilder {
        SchedulerBuilder::default().policy(policy)
    }

    #[test]
    fn sched_attr_is_the_kernels_56_byte_layout() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
    }

    #[test]
    fn batch_with_nice_builds_its_attr() {
        let s = sched(LinuxSchedulerPolicy::SchedBatch)
            .nice(5)
            .flags(vec![LinuxSchedulerFlag::SchedResetOnFork])
            .build()
            .unwrap();
        let a = attr(&s).unwrap();
        assert_eq!((a.sched_policy, a.sched_nice, a.sched_flags), (3, 5, 1));
        assert_eq!(a.sched_priority, 0);
        assert_eq!(a.size, 56);
    }

    #[test]
    fn fifo_needs_a_priority_between_1_and_99() {
        let s = sched(LinuxSchedulerPolicy::SchedFifo).build().unwrap();
        assert_eq!(
            attr(&s).unwrap_err().to_string(),
            "process.scheduler: priority 0 is out of range 1..=99 for SCHED_FIFO"
        );
        let s = sched(LinuxSchedulerPolicy::SchedRr)
            .priority(50)
            .build()
            .unwrap();
        assert_eq!(attr(&s).unwrap().sched_priority, 50);
    }

    #[test]
    fn other_refuses_a_priority_and_bad_nice() {
        let s = sched(LinuxSchedulerPolicy::SchedOther)
            .priority(3)
            .build()
            .unwrap();
        assert!(attr(&s)
            .unwrap_err()
            .to_string()
            .contains("priority 3 must be 0"));
        let s = sched(LinuxSchedulerPolicy::SchedOther)
            .nice(20)
            .build()
            .unwrap();
        assert_eq!(
            attr(&s).unwrap_err().to_string(),
            "process.scheduler: nice 20 is out of range -20..=19"
        );
    }

    #[test]
    fn deadline_parameters_must_be_ordered() {
        let ok = sched(LinuxSchedulerPolicy::SchedDeadline)
            .runtime(10_000_000u64)
            .deadline(30_000_000u64)
            .period(100_000_000u64)
            .build()
            .unwrap();
        let a = attr(&ok).unwrap();
        assert_eq!(
            (a.sched_policy, a.sched_runtime, a.sched_period),
            (6, 10_000_000, 100_000_000)
        );
        let bad = sched(LinuxSchedulerPolicy::SchedDeadline)
            .runtime(10_000_000u64)
            .deadline(5_000_000u64)
            .build()
            .unwrap();
        assert_eq!(
            attr(&bad).unwrap_err().to_string(),
            "process.scheduler: deadline 5000000 is below runtime 10000000"
        );
        let none = sched(LinuxSchedulerPolicy::SchedDeadline).build().unwrap();
        assert!(attr(&none)
            .unwrap_err()
            .to_string()
            .contains("runtime 0 is below 1024"));
    }

    #[test]
    fn spec_flag_names_load_after_normalizing() {
        let mut v = serde_json::json!({
            "user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["sh"],
            "scheduler": {"policy": "SCHED_DEADLINE", "runtime": 2048, "deadline": 4096,
                "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RECLAIM"]}
        });
        assert!(serde_json::from_value::<oci_spec::runtime::Process>(v.clone()).is_err());
        normalize_flag_names(&mut v);
        let p: oci_spec::runtime::Process = serde_json::from_value(v).unwrap();
        let a = attr(p.scheduler().as_ref().unwrap()).unwrap();
        assert_eq!(a.sched_flags, 0x01 | 0x04 | 0x02);
    }

    #[test]
    fn sched_iso_is_refused() {
        let s = sched(LinuxSchedulerPolicy::SchedIso).build().unwrap();
        assert_eq!(
            attr(&s).unwrap_err().to_string(),
            "process.scheduler: policy SCHED_ISO is not implemented by the Linux kernel"
        );
    }
}
