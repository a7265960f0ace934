//! Profile validation: `linux.seccomp` checked once and turned into a policy
//! per architecture (syscall number -> ordered argument rules), ready for
//! code generation. Pure: no system calls.

use super::{arch::Abi, SeccompError};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use std::collections::BTreeMap;

/// The errno an `SCMP_ACT_ERRNO` or `SCMP_ACT_TRACE` returns when none is given.
const EPERM: u32 = 1;
/// SECCOMP_RET_DATA is 16 bits wide.
const MAX_RET_DATA: u32 = 0xffff;

/// A comparison of one syscall argument (the OCI/libseccomp operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// arg != value
    Ne,
    /// arg < value
    Lt,
    /// arg <= value
    Le,
    /// arg == value
    Eq,
    /// arg >= value
    Ge,
    /// arg > value
    Gt,
    /// (arg & value) == valueTwo
    MaskedEq,
}

/// One argument condition of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCond {
    /// Argument index, 0..=5.
    pub index: u8,
    /// The comparison.
    pub op: CmpOp,
    /// `value` (the mask for `MaskedEq`).
    pub value: u64,
    /// `valueTwo` (the expected masked value for `MaskedEq`).
    pub value_two: u64,
}

/// A conditional rule: all conditions hold -> `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgRule {
    /// Conditions, all of which must hold.
    pub conds: Vec<ArgCond>,
    /// The SECCOMP_RET_* value returned on a match.
    pub action: u32,
}

/// What one syscall does: the first matching conditional rule wins, else
/// `fallback` (the unconditional rule's action, or the default action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallPolicy {
    /// Conditional rules in profile order.
    pub rules: Vec<ArgRule>,
    /// Action when no conditional rule matches.
    pub fallback: u32,
}

/// The rules of one ABI, keyed by syscall number. Syscalls that only take
/// the default action are absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AbiPolicy {
    /// Syscall number -> policy.
    pub syscalls: BTreeMap<u32, SyscallPolicy>,
}

/// A checked profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// SECCOMP_RET_* for syscalls no rule names.
    pub default_action: u32,
    /// SECCOMP_RET_* for a syscall made through an ABI the profile leaves out.
    pub bad_arch_action: u32,
    /// One entry per ABI the filter accepts, native first.
    pub abis: Vec<(Abi, AbiPolicy)>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub flags: u32,
    /// Whether some rule uses SCMP_ACT_NOTIFY (so install returns a listener fd).
    pub uses_notify: bool,
}

impl Policy {
    /// The policy of `abi`, when the profile accepts that ABI.
    pub fn abi(&self, abi: Abi) -> Option<&AbiPolicy> {
        self.abis.iter().find(|(a, _)| *a == abi).map(|(_, p)| p)
    }
}

fn err(msg: String) -> SeccompError {
    SeccompError(format!("linux.seccomp.{msg}"))
}

/// The SCMP_ACT_* name of an action, as written in config.json.
pub fn action_name(action: LinuxSeccompAction) -> &'static str {
    match action {
        LinuxSeccompAction::ScmpActKill => "SCMP_ACT_KILL",
        LinuxSeccompAction::ScmpActKillThread => "SCMP_ACT_KILL_THREAD",
        LinuxSeccompAction::ScmpActKillProcess => "SCMP_ACT_KILL_PROCESS",
        LinuxSeccompAction::ScmpActTrap => "SCMP_ACT_TRAP",
        LinuxSeccompAction::ScmpActErrno => "SCMP_ACT_ERRNO",
        LinuxSeccompAction::ScmpActNotify => "SCMP_ACT_NOTIFY",
        LinuxSeccompAction::ScmpActTrace => "SCMP_ACT_TRACE",
        LinuxSeccompAction::ScmpActLog => "SCMP_ACT_LOG",
        LinuxSeccompAction::ScmpActAllow => "SCMP_ACT_ALLOW",
    }
}

/// The SECCOMP_RET_* value of an action; `field` names the errno field.
fn action_value(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<u32, SeccompError> {
    let with_data = |base: u32| match errno_ret {
        Some(data) if data > MAX_RET_DATA => Err(err(format!(
            "{field} {data} is out of range (0-{MAX_RET_DATA})"
        ))),
        Some(data) => Ok(base | data),
        None => Ok(base | EPERM),
    };
    match action {
        LinuxSeccompAction::ScmpActErrno => return with_data(libc::SECCOMP_RET_ERRNO),
        LinuxSeccompAction::ScmpActTrace => return with_data(libc::SECCOMP_RET_TRACE),
        _ => {}
    }
    if let Some(data) = errno_ret {
        return Err(err(format!(
            "{field} {data} is set but {} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)",
            action_name(action)
        )));
    }
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            libc::SECCOMP_RET_KILL_THREAD
        }
        LinuxSeccompAction::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        LinuxSeccompAction::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
        LinuxSeccompAction::ScmpActLog => libc::SECCOMP_RET_LOG,
        LinuxSeccompAction::ScmpActAllow
        | LinuxSeccompAction::ScmpActErrno
        | LinuxSeccompAction::ScmpActTrace => libc::SECCOMP_RET_ALLOW,
    })
}

fn cmp_op(op: LinuxSeccompOperator) -> CmpOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => CmpOp::Ne,
        LinuxSeccompOperator::ScmpCmpLt => CmpOp::Lt,
        LinuxSeccompOperator::ScmpCmpLe => CmpOp::Le,
        LinuxSeccompOperator::ScmpCmpEq => CmpOp::Eq,
        LinuxSeccompOperator::ScmpCmpGe => CmpOp::Ge,
        LinuxSeccompOperator::ScmpCmpGt => CmpOp::Gt,
        LinuxSeccompOperator::ScmpCmpMaskedEq => CmpOp::MaskedEq,
    }
}

fn arg_cond(arg: &LinuxSeccompArg, field: &str) -> Result<ArgCond, SeccompError> {
    let index = arg.index();
    if index > 5 {
        return Err(err(format!("{field}.index {index} is out of range (0-5)")));
    }
    Ok(ArgCond {
        // Checked above: 0..=5 fits.
        index: index as u8,
        op: cmp_op(arg.op()),
        value: arg.value(),
        value_two: arg.value_two().unwrap_or(0),
    })
}

/// A syscall entry after validation: its action and conditions.
struct CheckedRule<'a> {
    names: &'a [String],
    action: u32,
    conds: Vec<ArgCond>,
}

fn check_syscall(i: usize, sc: &LinuxSyscall) -> Result<CheckedRule<'_>, SeccompError> {
    if sc.names().is_empty() {
        return Err(err(format!(
            "syscalls[{i}].names is empty (it needs at least one name)"
        )));
    }
    let action = action_value(
        sc.action(),
        sc.errno_ret(),
        &format!("syscalls[{i}].errnoRet"),
    )?;
    let conds = sc
        .args()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(j, a)| arg_cond(a, &format!("syscalls[{i}].args[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckedRule {
        names: sc.names(),
        action,
        conds,
    })
}

/// Resolves names for one ABI and merges the rules of each syscall.
fn abi_policy(abi: Abi, rules: &[CheckedRule<'_>], default_action: u32) -> AbiPolicy {
    let mut unconditional: BTreeMap<u32, u32> = BTreeMap::new();
    let mut conditional: BTreeMap<u32, Vec<ArgRule>> = BTreeMap::new();
    for rule in rules {
        // Names this kernel's tables don't know are skipped: profiles list
        // syscalls of newer kernels and of other architectures.
        for nr in rule.names.iter().filter_map(|n| abi.syscall_nr(n)) {
            if rule.conds.is_empty() {
                // The first unconditional rule for a syscall wins.
                unconditional.entry(nr).or_insert(rule.action);
            } else {
                conditional.entry(nr).or_default().push(ArgRule {
                    conds: rule.conds.clone(),
                    action: rule.action,
                });
            }
        }
    }
    let mut syscalls = BTreeMap::new();
    let numbers: std::collections::BTreeSet<u32> = unconditional
        .keys()
        .chain(conditional.keys())
        .copied()
        .collect();
    for nr in numbers {
        let fallback = unconditional.get(&nr).copied().unwrap_or(default_action);
        let mut rules = conditional.remove(&nr).unwrap_or_default();
        // Trailing rules that end in the fallback action change nothing.
        while rules.last().is_some_and(|r| r.action == fallback) {
            rules.pop();
        }
        if rules.is_empty() && fallback == default_action {
            continue;
        }
        syscalls.insert(nr, SyscallPolicy { rules, fallback });
    }
    AbiPolicy { syscalls }
}

fn flag_bits(flag: LinuxSeccompFilterFlag) -> u32 {
    // The libc constants are c_ulong; every flag fits in the low bits.
    (match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        }
    }) as u32
}

/// Validates `linux.seccomp` and resolves it for the host's ABIs.
pub fn check(profile: &LinuxSeccomp) -> Result<Policy, SeccompError> {
    let default_action = action_value(
        profile.default_action(),
        profile.default_errno_ret(),
        "defaultErrnoRet",
    )?;
    if profile.default_action() == LinuxSeccompAction::ScmpActNotify {
        // Every syscall, execve and the runtime's own hand-over of the
        // listener fd included, would wait for an agent that has no fd yet.
        return Err(err(
            "defaultAction SCMP_ACT_NOTIFY is not supported (use it on named syscalls)".into(),
        ));
    }
    let rules = profile
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, sc)| check_syscall(i, sc))
        .collect::<Result<Vec<_>, _>>()?;
    let uses_notify = profile
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    if profile.listener_metadata().is_some() && profile.listener_path().is_none() {
        return Err(err(
            "listenerMetadata is set but listenerPath is not (the metadata goes to the listener)"
                .into(),
        ));
    }
    if uses_notify && profile.listener_path().is_none() {
        return Err(err(
            "listenerPath must be set when a rule uses SCMP_ACT_NOTIFY (someone must answer the notifications)"
                .into(),
        ));
    }

    let abis = Abi::selected(profile.architectures().as_deref().unwrap_or_default())?;
    let abis = abis
        .into_iter()
        .map(|abi| (abi, abi_policy(abi, &rules, default_action)))
        .collect();

    let mut flags = 0;
    for flag in profile.flags().as_deref().unwrap_or_default() {
        flags |= flag_bits(*flag);
    }
    if uses_notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC as u32 != 0 {
            // The kernel refuses TSYNC + NEW_LISTENER unless a sync failure
            // is reported as ESRCH (the return value is the listener fd).
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32;
        }
    } else {
        // Only meaningful with a listener; the kernel rejects it without one.
        flags &= !(libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32);
    }

    Ok(Policy {
        default_action,
        // As libseccomp: a syscall through an ABI the profile leaves out
        // (int 0x80 under an x86_64-only profile) kills the process.
        bad_arch_action: libc::SECCOMP_RET_KILL_PROCESS,
        abis,
        flags,
        uses_notify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).expect("test profile parses")
    }

    fn check_err(json: &str) -> String {
        check(&profile(json))
            .expect_err("profile must be rejected")
            .0
    }

    #[test]
    fn args_index_over_five_is_named() {
        let e = check_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
              {"names":["read"],"action":"SCMP_ACT_ERRNO"},
              {"names":["read"],"action":"SCMP_ACT_ERRNO"},
              {"names":["read"],"action":"SCMP_ACT_ERRNO"},
              {"names":["umask"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert_eq!(
            e,
            "linux.seccomp.syscalls[3].args[0].index 7 is out of range (0-5)"
        );
    }

    #[test]
    fn errno_on_an_action_without_errno_is_rejected() {
        let e = check_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
              {"names":["read"],"action":"SCMP_ACT_ERRNO"},
              {"names":["umask"],"action":"SCMP_ACT_KILL","errnoRet":5}]}"#,
        );
        assert!(
            e.starts_with("linux.seccomp.syscalls[1].errnoRet 5 is set but SCMP_ACT_KILL"),
            "{e}"
        );
        let e = check_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":3}"#);
        assert!(
            e.starts_with("linux.seccomp.defaultErrnoRet 3 is set but SCMP_ACT_ALLOW"),
            "{e}"
        );
        let e = check_err(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#);
        assert_eq!(
            e,
            "linux.seccomp.defaultErrnoRet 70000 is out of range (0-65535)"
        );
    }

    #[test]
    fn empty_names_and_notify_without_listener_are_rejected() {
        let e = check_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}"#,
        );
        assert!(
            e.starts_with("linux.seccomp.syscalls[0].names is empty"),
            "{e}"
        );
        let e = check_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(
            e.starts_with("linux.seccomp.listenerPath must be set"),
            "{e}"
        );
        let e = check_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"x"}"#);
        assert!(
            e.starts_with("linux.seccomp.listenerMetadata is set"),
            "{e}"
        );
        let e = check_err(r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}"#);
        assert!(
            e.starts_with("linux.seccomp.defaultAction SCMP_ACT_NOTIFY"),
            "{e}"
        );
    }

    #[test]
    fn unknown_enum_values_fail_while_parsing() {
        // oci-spec rejects these before we see them; the loader names the field.
        for bad in [
            r#"{"defaultAction":"SCMP_ACT_FOO"}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FOO"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_FOO"}]}]}"#,
        ] {
            assert!(serde_json::from_str::<LinuxSeccomp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_merge_per_syscall_and_unknown_names_are_skipped() {
        let p = check(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
              {"names":["read","no_such_syscall","write"],"action":"SCMP_ACT_ALLOW"},
              {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
              {"names":["personality"],"action":"SCMP_ACT_TRAP"},
              {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
              {"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":5},
              {"names":["umask"],"action":"SCMP_ACT_ALLOW"}]}"#,
        ))
        .expect("valid profile");
        let x86_64 = p.abi(Abi::X86_64).expect("native ABI always present");
        let eperm = libc::SECCOMP_RET_ERRNO | 1;
        assert_eq!(p.default_action, eperm);
        assert_eq!(x86_64.syscalls[&0].fallback, libc::SECCOMP_RET_ALLOW); // read
        assert_eq!(x86_64.syscalls[&1].fallback, libc::SECCOMP_RET_ALLOW); // write
        let personality = &x86_64.syscalls[&135];
        assert_eq!(personality.fallback, libc::SECCOMP_RET_TRAP);
        assert_eq!(personality.rules.len(), 2);
        // ERRNO(5) came first for umask; the later ALLOW does not replace it.
        assert_eq!(x86_64.syscalls[&95].fallback, libc::SECCOMP_RET_ERRNO | 5);
        assert_eq!(x86_64.syscalls.len(), 4);
        assert!(p.abi(Abi::X86).is_none());
    }

    #[test]
    fn notify_adds_listener_flags() {
        let p = check(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
               "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
               "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        ))
        .expect("valid profile");
        let want = libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
            | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        assert_eq!(p.flags, want as u32);
        assert!(p.uses_notify);
        let p = check(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","SECCOMP_FILTER_FLAG_LOG"]}"#,
        ))
        .expect("valid profile");
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_LOG as u32);
    }
}
