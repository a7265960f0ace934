//! Capabilities: which ones berth knows, which ones this kernel knows, what
//! to keep in each of the five sets, and the syscalls that apply the plan.

use super::{describe, ProcessError};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use std::io;

/// Every capability berth supports: the spec's name and the kernel's number.
/// `berth features` prints these names.
pub const ALL: &[(Capability, u8, &str)] = &[
    (Capability::Chown, 0, "CAP_CHOWN"),
    (Capability::DacOverride, 1, "CAP_DAC_OVERRIDE"),
    (Capability::DacReadSearch, 2, "CAP_DAC_READ_SEARCH"),
    (Capability::Fowner, 3, "CAP_FOWNER"),
    (Capability::Fsetid, 4, "CAP_FSETID"),
    (Capability::Kill, 5, "CAP_KILL"),
    (Capability::Setgid, 6, "CAP_SETGID"),
    (Capability::Setuid, 7, "CAP_SETUID"),
    (Capability::Setpcap, 8, "CAP_SETPCAP"),
    (Capability::LinuxImmutable, 9, "CAP_LINUX_IMMUTABLE"),
    (Capability::NetBindService, 10, "CAP_NET_BIND_SERVICE"),
    (Capability::NetBroadcast, 11, "CAP_NET_BROADCAST"),
    (Capability::NetAdmin, 12, "CAP_NET_ADMIN"),
    (Capability::NetRaw, 13, "CAP_NET_RAW"),
    (Capability::IpcLock, 14, "CAP_IPC_LOCK"),
    (Capability::IpcOwner, 15, "CAP_IPC_OWNER"),
    (Capability::SysModule, 16, "CAP_SYS_MODULE"),
    (Capability::SysRawio, 17, "CAP_SYS_RAWIO"),
    (Capability::SysChroot, 18, "CAP_SYS_CHROOT"),
    (Capability::SysPtrace, 19, "CAP_SYS_PTRACE"),
    (Capability::SysPacct, 20, "CAP_SYS_PACCT"),
    (Capability::SysAdmin, 21, "CAP_SYS_ADMIN"),
    (Capability::SysBoot, 22, "CAP_SYS_BOOT"),
    (Capability::SysNice, 23, "CAP_SYS_NICE"),
    (Capability::SysResource, 24, "CAP_SYS_RESOURCE"),
    (Capability::SysTime, 25, "CAP_SYS_TIME"),
    (Capability::SysTtyConfig, 26, "CAP_SYS_TTY_CONFIG"),
    (Capability::Mknod, 27, "CAP_MKNOD"),
    (Capability::Lease, 28, "CAP_LEASE"),
    (Capability::AuditWrite, 29, "CAP_AUDIT_WRITE"),
    (Capability::AuditControl, 30, "CAP_AUDIT_CONTROL"),
    (Capability::Setfcap, 31, "CAP_SETFCAP"),
    (Capability::MacOverride, 32, "CAP_MAC_OVERRIDE"),
    (Capability::MacAdmin, 33, "CAP_MAC_ADMIN"),
    (Capability::Syslog, 34, "CAP_SYSLOG"),
    (Capability::WakeAlarm, 35, "CAP_WAKE_ALARM"),
    (Capability::BlockSuspend, 36, "CAP_BLOCK_SUSPEND"),
    (Capability::AuditRead, 37, "CAP_AUDIT_READ"),
    (Capability::Perfmon, 38, "CAP_PERFMON"),
    (Capability::Bpf, 39, "CAP_BPF"),
    (Capability::CheckpointRestore, 40, "CAP_CHECKPOINT_RESTORE"),
];

/// The names of every capability berth supports, in kernel order.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|(_, _, name)| *name)
}

/// The kernel's number for `cap`.
pub fn number(cap: Capability) -> u8 {
    ALL.iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, n, _)| *n)
        // ALL lists every variant of oci-spec's enum; the unit test
        // `every_capability_has_a_number` proves it.
        .unwrap_or(u8::MAX)
}

/// The spec's name for `cap`, e.g. `CAP_CHOWN`.
pub fn name(cap: Capability) -> &'static str {
    ALL.iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, _, n)| *n)
        .unwrap_or("CAP_UNKNOWN")
}

/// Whether the running kernel knows `cap` (its number is at most
/// `/proc/sys/kernel/cap_last_cap`). Asked with `PR_CAPBSET_READ`, which
/// fails with EINVAL for numbers the kernel does not know.
pub fn kernel_knows(cap: Capability) -> bool {
    bounding_has(number(cap)).is_ok()
}

/// What the calling thread holds now, and how far the kernel counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelCaps {
    /// The highest capability number the kernel knows (`cap_last_cap`).
    pub last_cap: u8,
    /// The bounding set, as a bit mask.
    pub bounding: u64,
    /// The permitted set.
    pub permitted: u64,
    /// The inheritable set.
    pub inheritable: u64,
}

/// Why a requested capability is left out of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The running kernel does not know it (number above `cap_last_cap`).
    UnknownToKernel,
    /// berth's own bounding set lacks it, so no process it starts can get it.
    NotInBoundingSet,
    /// It is not in the permitted set this process can give.
    NotPermitted,
    /// Ambient needs the capability in both permitted and inheritable.
    NotPermittedAndInheritable,
}

/// One requested capability that the plan leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `bounding`, `effective`, `permitted`, `inheritable` or `ambient`.
    pub set: &'static str,
    /// The capability's name.
    pub cap: &'static str,
    /// Why it is left out.
    pub reason: SkipReason,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.reason {
            SkipReason::UnknownToKernel => "the running kernel does not know it",
            SkipReason::NotInBoundingSet => "berth's own bounding set lacks it",
            SkipReason::NotPermitted => "it is not in the permitted set",
            SkipReason::NotPermittedAndInheritable => {
                "it is not in both the permitted and the inheritable set"
            }
        };
        write!(
            f,
            "process.capabilities.{}: {} is skipped: {}",
            self.set, self.cap, why
        )
    }
}

/// The five sets to apply, as bit masks, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapPlan {
    /// Bounding set to keep; every other known capability is dropped.
    pub bounding: u64,
    /// Effective set.
    pub effective: u64,
    /// Permitted set.
    pub permitted: u64,
    /// Inheritable set.
    pub inheritable: u64,
    /// Ambient set.
    pub ambient: u64,
    /// Requested capabilities that cannot be granted (the spec asks for a
    /// warning, not a failure).
    pub skipped: Vec<Skipped>,
}

fn mask_of(caps: Option<&Capabilities>) -> u64 {
    caps.into_iter()
        .flatten()
        .map(|c| number(*c))
        .filter(|n| *n < 64)
        .fold(0, |m, n| m | (1u64 << n))
}

fn known_mask(last_cap: u8) -> u64 {
    if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    }
}

fn name_of_bit(bit: u8) -> &'static str {
    ALL.iter()
        .find(|(_, n, _)| *n == bit)
        .map(|(_, _, name)| *name)
        .unwrap_or("CAP_UNKNOWN")
}

/// Keeps of `wanted` what `allowed` lets through, noting the rest.
fn keep(
    set: &'static str,
    wanted: u64,
    known: u64,
    allowed: u64,
    reason: SkipReason,
    skipped: &mut Vec<Skipped>,
) -> u64 {
    for bit in 0..64u8 {
        let b = 1u64 << bit;
        if wanted & b == 0 {
            continue;
        }
        if known & b == 0 {
            skipped.push(Skipped {
                set,
                cap: name_of_bit(bit),
                reason: SkipReason::UnknownToKernel,
            });
        } else if allowed & b == 0 {
            skipped.push(Skipped {
                set,
                cap: name_of_bit(bit),
                reason,
            });
        }
    }
    wanted & known & allowed
}

/// Decides the five sets from the request and what the thread holds: a
/// capability the kernel does not know is skipped (as runc does), and so is
/// one the kernel would refuse (capset's rules), so the container starts.
/// `None` asks for no capabilities at all.
pub fn plan(requested: Option<&LinuxCapabilities>, now: &KernelCaps) -> CapPlan {
    let known = known_mask(now.last_cap);
    let mut skipped = Vec::new();
    let req = |f: fn(&LinuxCapabilities) -> &Option<Capabilities>| {
        mask_of(requested.and_then(|r| f(r).as_ref()))
    };
    let bounding = keep(
        "bounding",
        req(LinuxCapabilities::bounding),
        known,
        now.bounding,
        SkipReason::NotInBoundingSet,
        &mut skipped,
    );
    let permitted = keep(
        "permitted",
        req(LinuxCapabilities::permitted),
        known,
        now.permitted,
        SkipReason::NotPermitted,
        &mut skipped,
    );
    let effective = keep(
        "effective",
        req(LinuxCapabilities::effective),
        known,
        permitted,
        SkipReason::NotPermitted,
        &mut skipped,
    );
    // capset: a new inheritable capability must be in the old inheritable
    // set, or in both the old permitted and the (new) bounding set.
    let inheritable = keep(
        "inheritable",
        req(LinuxCapabilities::inheritable),
        known,
        now.inheritable | (now.permitted & bounding),
        SkipReason::NotInBoundingSet,
        &mut skipped,
    );
    let ambient = keep(
        "ambient",
        req(LinuxCapabilities::ambient),
        known,
        permitted & inheritable,
        SkipReason::NotPermittedAndInheritable,
        &mut skipped,
    );
    CapPlan {
        bounding,
        effective,
        permitted,
        inheritable,
        ambient,
        skipped,
    }
}

fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the prctl operations used here take integer arguments only.
    let r = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn bounding_has(bit: u8) -> io::Result<bool> {
    prctl(libc::PR_CAPBSET_READ, bit.into(), 0).map(|r| r == 1)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

fn capget() -> io::Result<[CapData; 2]> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are valid for the v3 layout (two u32 triples).
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(data)
}

fn join(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// Reads the calling thread's capability state: probes `PR_CAPBSET_READ`
/// upwards until the kernel says EINVAL, which yields both `cap_last_cap`
/// and the bounding set without touching /proc.
pub fn probe() -> Result<KernelCaps, ProcessError> {
    let mut bounding = 0u64;
    let mut last_cap = 0u8;
    for bit in 0..64u8 {
        match bounding_has(bit) {
            Ok(has) => {
                last_cap = bit;
                if has {
                    bounding |= 1 << bit;
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => {
                return Err(ProcessError(format!(
                    "capabilities: prctl PR_CAPBSET_READ {bit}: {}",
                    describe(&e)
                )))
            }
        }
    }
    let data =
        capget().map_err(|e| ProcessError(format!("capabilities: capget: {}", describe(&e))))?;
    Ok(KernelCaps {
        last_cap,
        bounding,
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Drops from the bounding set every capability the plan does not keep.
/// Needs CAP_SETPCAP, so it runs before the user switch.
pub fn limit_bounding(plan: &CapPlan, now: &KernelCaps) -> Result<(), ProcessError> {
    for bit in 0..=now.last_cap.min(63) {
        let b = 1u64 << bit;
        if now.bounding & b != 0 && plan.bounding & b == 0 {
            prctl(libc::PR_CAPBSET_DROP, bit.into(), 0).map_err(|e| {
                ProcessError(format!(
                    "process.capabilities.bounding: prctl PR_CAPBSET_DROP {}: {}",
                    name_of_bit(bit),
                    describe(&e)
                ))
            })?;
        }
    }
    Ok(())
}

/// Sets or clears PR_SET_KEEPCAPS, which keeps the permitted set across
/// the switch away from uid 0.
pub fn set_keepcaps(on: bool) -> Result<(), ProcessError> {
    prctl(libc::PR_SET_KEEPCAPS, on.into(), 0)
        .map(drop)
        .map_err(|e| ProcessError(format!("prctl PR_SET_KEEPCAPS {on}: {}", describe(&e))))
}

/// Sets permitted, effective and inheritable in one capset, then makes the
/// ambient set exactly the plan's.
pub fn apply(plan: &CapPlan) -> Result<(), ProcessError> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let lo = |m: u64| m as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let data = [
        CapData {
            effective: lo(plan.effective),
            permitted: lo(plan.permitted),
            inheritable: lo(plan.inheritable),
        },
        CapData {
            effective: hi(plan.effective),
            permitted: hi(plan.permitted),
            inheritable: hi(plan.inheritable),
        },
    ];
    // SAFETY: header and data are valid for the v3 layout; capset only reads.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(ProcessError(format!(
            "process.capabilities: capset permitted {:#x} effective {:#x} inheritable {:#x}: {}",
            plan.permitted,
            plan.effective,
            plan.inheritable,
            describe(&e)
        )));
    }
    let ambient = |op: libc::c_ulong, bit: u8| {
        // SAFETY: PR_CAP_AMBIENT takes integer arguments only.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                op,
                libc::c_ulong::from(bit),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    ambient(libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0).map_err(|e| {
        ProcessError(format!(
            "process.capabilities.ambient: prctl PR_CAP_AMBIENT_CLEAR_ALL: {}",
            describe(&e)
        ))
    })?;
    for bit in 0..64u8 {
        if plan.ambient & (1 << bit) != 0 {
            ambient(libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, bit).map_err(|e| {
                ProcessError(format!(
                    "process.capabilities.ambient: prctl PR_CAP_AMBIENT_RAISE {}: {}",
                    name_of_bit(bit),
                    describe(&e)
                ))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCapabilitiesBuilder;

    fn set(caps: &[Capability]) -> Capabilities {
        caps.iter().copied().collect()
    }

    /// Sets not named are empty (the builder's defaults are not).
    fn empty() -> LinuxCapabilitiesBuilder {
        LinuxCapabilitiesBuilder::default()
            .bounding(set(&[]))
            .permitted(set(&[]))
            .effective(set(&[]))
            .inheritable(set(&[]))
            .ambient(set(&[]))
    }

    fn bit(c: Capability) -> u64 {
        1 << number(c)
    }

    /// A root thread on this host: everything but CAP_SYS_RESOURCE.
    fn host_root() -> KernelCaps {
        let all = known_mask(40);
        let without = all & !bit(Capability::SysResource);
        KernelCaps {
            last_cap: 40,
            bounding: without,
            permitted: without,
            inheritable: 0,
        }
    }

    #[test]
    fn every_capability_has_a_number() {
        let json: Vec<String> = ALL.iter().map(|(_, _, n)| format!("\"{n}\"")).collect();
        for (cap, n, name) in ALL {
            let parsed: Capability = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(parsed, *cap, "{name}");
            assert_eq!(number(*cap), *n);
        }
        assert_eq!(json.len(), 41);
        let numbers: std::collections::BTreeSet<u8> = ALL.iter().map(|(_, n, _)| *n).collect();
        assert_eq!(numbers, (0..=40).collect());
    }

    #[test]
    fn capabilities_unknown_to_the_kernel_are_skipped() {
        // A kernel that stops at CAP_AUDIT_READ (37) knows no PERFMON/BPF.
        let old = KernelCaps {
            last_cap: 37,
            bounding: known_mask(37),
            permitted: known_mask(37),
            inheritable: 0,
        };
        let wanted = set(&[Capability::Chown, Capability::Bpf, Capability::Perfmon]);
        let caps = empty()
            .bounding(wanted.clone())
            .permitted(wanted.clone())
            .effective(wanted)
            .build()
            .unwrap();
        let p = plan(Some(&caps), &old);
        assert_eq!(p.bounding, bit(Capability::Chown));
        assert_eq!(p.permitted, bit(Capability::Chown));
        assert_eq!(p.effective, bit(Capability::Chown));
        assert_eq!(p.skipped.len(), 6);
        assert!(p
            .skipped
            .iter()
            .all(|s| s.reason == SkipReason::UnknownToKernel));
        assert!(p.skipped.iter().any(|s| s.cap == "CAP_BPF"));
    }

    #[test]
    fn capabilities_missing_from_berths_bounding_set_are_skipped() {
        let wanted = set(&[Capability::SysResource, Capability::Kill]);
        let caps = empty()
            .bounding(wanted.clone())
            .permitted(wanted.clone())
            .effective(wanted.clone())
            .inheritable(wanted.clone())
            .ambient(wanted)
            .build()
            .unwrap();
        let p = plan(Some(&caps), &host_root());
        let kill = bit(Capability::Kill);
        assert_eq!(
            (
                p.bounding,
                p.permitted,
                p.effective,
                p.inheritable,
                p.ambient
            ),
            (kill, kill, kill, kill, kill)
        );
        assert_eq!(p.skipped.len(), 5);
        assert!(p.skipped.iter().all(|s| s.cap == "CAP_SYS_RESOURCE"));
        assert_eq!(
            p.skipped[0].to_string(),
            "process.capabilities.bounding: CAP_SYS_RESOURCE is skipped: \
             berth's own bounding set lacks it"
        );
    }

    #[test]
    fn ambient_needs_permitted_and_inheritable() {
        let caps = empty()
            .bounding(set(&[Capability::NetRaw, Capability::Kill]))
            .permitted(set(&[Capability::NetRaw, Capability::Kill]))
            .inheritable(set(&[Capability::Kill]))
            .ambient(set(&[Capability::NetRaw, Capability::Kill]))
            .build()
            .unwrap();
        let p = plan(Some(&caps), &host_root());
        assert_eq!(p.ambient, bit(Capability::Kill));
        assert_eq!(
            p.skipped,
            vec![Skipped {
                set: "ambient",
                cap: "CAP_NET_RAW",
                reason: SkipReason::NotPermittedAndInheritable
            }]
        );
    }

    #[test]
    fn inheritable_outside_the_new_bounding_set_is_skipped() {
        let caps = empty()
            .bounding(set(&[Capability::Kill]))
            .permitted(set(&[Capability::Kill, Capability::Chown]))
            .inheritable(set(&[Capability::Kill, Capability::Chown]))
            .build()
            .unwrap();
        let p = plan(Some(&caps), &host_root());
        assert_eq!(p.inheritable, bit(Capability::Kill));
        assert_eq!(p.permitted, bit(Capability::Kill) | bit(Capability::Chown));
    }

    #[test]
    fn no_capabilities_object_means_no_capabilities() {
        let p = plan(None, &host_root());
        assert_eq!(p, CapPlan::default());
    }

    #[test]
    fn this_kernel_knows_checkpoint_restore() {
        // Kernel 6.18 knows all 41 capabilities (cap_last_cap = 40).
        let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(kernel_knows(Capability::CheckpointRestore), last >= 40);
        assert!(kernel_knows(Capability::Chown));
        assert_eq!(probe().unwrap().last_cap, last);
    }
}
