//! Checks the parent runs before forking, so a bad `process` fails with a
//! clear message before any namespace exists.

use super::{capabilities, iopriority, lsm, non_empty, oom, rlimits, scheduler, ProcessError};
use oci_spec::runtime::Process;

/// What the host offers, as far as `process` cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Host {
    /// AppArmor is enabled (`None`: unknown).
    pub apparmor: Option<bool>,
    /// SELinux is enabled (`None`: unknown).
    pub selinux: Option<bool>,
    /// berth holds CAP_SYS_RESOURCE (effective), so it may raise hard limits.
    pub sys_resource: bool,
    /// The current hard limit for each entry of `process.rlimits`.
    pub hard_limits: Vec<Option<u64>>,
}

impl Host {
    /// Reads only what `process` asks about.
    fn probe(process: &Process) -> Host {
        let mut host = Host::default();
        if non_empty(process.apparmor_profile()).is_some() {
            host.apparmor = lsm::apparmor_enabled();
        }
        if non_empty(process.selinux_label()).is_some() {
            host.selinux = lsm::selinux_enabled();
        }
        if let Some(r) = process.rlimits() {
            host.sys_resource = caps::has_cap(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_RESOURCE,
            )
            .unwrap_or(false);
            host.hard_limits = r
                .iter()
                .map(|l| rlimits::current(l.typ()).ok().map(|(_, hard)| hard))
                .collect();
        }
        host
    }
}

/// The pure part of [`check`].
pub(super) fn check_on(process: &Process, host: &Host) -> Result<(), ProcessError> {
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        let hard = host.hard_limits.get(i).copied().flatten();
        if let Some(hard) = hard {
            if r.hard() > hard && !host.sys_resource {
                return Err(ProcessError(format!(
                    "process.rlimits[{i}]: {} hard limit {} is above the current {} and berth \
                     lacks CAP_SYS_RESOURCE to raise it",
                    r.typ(),
                    rlimits::show(r.hard()),
                    rlimits::show(hard)
                )));
            }
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        oom::check(adj)?;
    }
    if let Some(s) = process.scheduler() {
        scheduler::attr(s)?;
    }
    if let Some(io) = process.io_priority() {
        iopriority::value(io)?;
    }
    if let Some(profile) = non_empty(process.apparmor_profile()) {
        if host.apparmor == Some(false) {
            return Err(lsm::apparmor_absent(profile));
        }
    }
    if let Some(label) = non_empty(process.selinux_label()) {
        if host.selinux == Some(false) {
            return Err(lsm::selinux_absent(label));
        }
    }
    Ok(())
}

/// Validates `process` against the spec's rules and this host (rlimits
/// above the hard limit, scheduler and ioPriority ranges, LSM labels on a
/// host without that LSM). Run it in the parent, before forking.
pub fn check(process: &Process) -> Result<(), ProcessError> {
    check_on(process, &Host::probe(process))
}

/// Requested capabilities that will be skipped (unknown to this kernel, or
/// not in berth's own sets), one line each, for the parent to log as
/// warnings as the spec asks. Init makes the same decision silently.
pub fn warnings(process: &Process) -> Vec<String> {
    match capabilities::probe() {
        Ok(now) => capabilities::plan(process.capabilities().as_ref(), &now)
            .skipped
            .iter()
            .map(ToString::to_string)
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        IOPriorityClass, LinuxIOPriorityBuilder, LinuxSchedulerPolicy, PosixRlimitBuilder,
        PosixRlimitType, ProcessBuilder, SchedulerBuilder,
    };

    fn nofile(soft: u64, hard: u64) -> oci_spec::runtime::PosixRlimit {
        PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .soft(soft)
            .hard(hard)
            .build()
            .unwrap()
    }

    #[test]
    fn raising_a_hard_limit_without_cap_sys_resource_is_refused() {
        let p = ProcessBuilder::default()
            .rlimits(vec![nofile(1024, 1024), nofile(4096, 1048576)])
            .build()
            .unwrap();
        let host = Host {
            hard_limits: vec![Some(20000), Some(20000)],
            ..Host::default()
        };
        assert_eq!(
            check_on(&p, &host).unwrap_err().to_string(),
            "process.rlimits[1]: RLIMIT_NOFILE hard limit 1048576 is above the current 20000 \
             and berth lacks CAP_SYS_RESOURCE to raise it"
        );
        let privileged = Host {
            sys_resource: true,
            ..host
        };
        assert!(check_on(&p, &privileged).is_ok());
    }

    #[test]
    fn apparmor_profile_on_a_host_without_apparmor_is_refused() {
        let p = ProcessBuilder::default()
            .apparmor_profile("x")
            .build()
            .unwrap();
        let host = Host {
            apparmor: Some(false),
            ..Host::default()
        };
        assert_eq!(
            check_on(&p, &host).unwrap_err().to_string(),
            "process.apparmorProfile \"x\" is set but AppArmor is not enabled on this host"
        );
        let with = Host {
            apparmor: Some(true),
            ..Host::default()
        };
        assert!(check_on(&p, &with).is_ok());
    }

    #[test]
    fn selinux_label_on_a_host_without_selinux_is_refused() {
        let p = ProcessBuilder::default()
            .selinux_label("system_u:system_r:container_t:s0")
            .build()
            .unwrap();
        // This host has no SELinux (see FIELD-NOTES), so the real probe says so.
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "process.selinuxLabel \"system_u:system_r:container_t:s0\" is set but SELinux is \
             not enabled on this host"
        );
    }

    #[test]
    fn empty_labels_count_as_unset() {
        let p = ProcessBuilder::default()
            .apparmor_profile("")
            .selinux_label("")
            .build()
            .unwrap();
        assert!(check(&p).is_ok());
    }

    #[test]
    fn scheduler_and_io_priority_ranges_are_checked() {
        let p = ProcessBuilder::default()
            .scheduler(
                SchedulerBuilder::default()
                    .policy(LinuxSchedulerPolicy::SchedRr)
                    .priority(100)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "process.scheduler: priority 100 is out of range 1..=99 for SCHED_RR"
        );
        let p = ProcessBuilder::default()
            .io_priority(
                LinuxIOPriorityBuilder::default()
                    .class(IOPriorityClass::IoprioClassRt)
                    .priority(-1)
                    .build()
                    .unwrap(),
            )
            .oom_score_adj(5)
            .build()
            .unwrap();
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "process.ioPriority.priority -1 is out of range 0..=7"
        );
    }

    #[test]
    fn skipped_capabilities_become_warnings() {
        // berth's bounding set on this host lacks CAP_SYS_RESOURCE.
        let bounding_has_it = caps::has_cap(
            None,
            caps::CapSet::Bounding,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .unwrap();
        let wanted: oci_spec::runtime::Capabilities = [oci_spec::runtime::Capability::SysResource]
            .into_iter()
            .collect();
        let p = ProcessBuilder::default()
            .capabilities(
                oci_spec::runtime::LinuxCapabilitiesBuilder::default()
                    .bounding(wanted)
                    .permitted(oci_spec::runtime::Capabilities::new())
                    .effective(oci_spec::runtime::Capabilities::new())
                    .inheritable(oci_spec::runtime::Capabilities::new())
                    .ambient(oci_spec::runtime::Capabilities::new())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let w = warnings(&p);
        if bounding_has_it {
            assert!(w.is_empty(), "{w:?}");
        } else {
            assert_eq!(
                w,
                vec![
                    "process.capabilities.bounding: CAP_SYS_RESOURCE is skipped: berth's own \
                      bounding set lacks it"
                        .to_string()
                ]
            );
        }
    }
}
