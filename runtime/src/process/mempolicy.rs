//! `linux.memoryPolicy` (runtime-spec 1.3): the NUMA memory policy of the
//! container process, set with set_mempolicy(2) before execve (it is
//! inherited across exec).

use super::{cpulist, ProcessError};
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

/// The mode number and flag bits set_mempolicy takes.
pub fn mode_bits(p: &LinuxMemoryPolicy) -> libc::c_int {
    let mode = match p.mode() {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    };
    let flags = p.flags().iter().flatten().fold(0, |acc, f| {
        acc | match f {
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        }
    });
    mode | flags
}

/// Checks the policy before anything is forked.
pub fn check(p: &LinuxMemoryPolicy) -> Result<(), ProcessError> {
    let nodes = p.nodes().as_deref().unwrap_or("");
    let list = cpulist::parse("linux.memoryPolicy.nodes", nodes)?;
    let needs_nodes = !matches!(
        p.mode(),
        MemoryPolicyModeType::MpolDefault
            | MemoryPolicyModeType::MpolLocal
            | MemoryPolicyModeType::MpolPreferred
    );
    if needs_nodes && list.is_empty() {
        return Err(ProcessError(format!(
            "linux.memoryPolicy.mode {} needs nodes",
            p.mode()
        )));
    }
    if matches!(
        p.mode(),
        MemoryPolicyModeType::MpolDefault | MemoryPolicyModeType::MpolLocal
    ) && !list.is_empty()
    {
        return Err(ProcessError(format!(
            "linux.memoryPolicy.mode {} takes no nodes",
            p.mode()
        )));
    }
    Ok(())
}

/// Sets the calling thread's memory policy.
pub fn apply(p: &LinuxMemoryPolicy) -> Result<(), ProcessError> {
    let nodes = p.nodes().as_deref().unwrap_or("");
    let list = cpulist::parse("linux.memoryPolicy.nodes", nodes)?;
    let bits = 64usize;
    let mut mask = vec![0u64; list.last().map_or(1, |&n| n / bits + 1)];
    for n in &list {
        mask[n / bits] |= 1 << (n % bits);
    }
    let maxnode = (mask.len() * bits + 1) as libc::c_ulong;
    let ptr = if list.is_empty() {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: set_mempolicy reads maxnode-1 bits from the mask, which holds
    // mask.len()*64 bits; a null mask is allowed for modes without nodes.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode_bits(p), ptr, maxnode) };
    if r < 0 {
        return Err(ProcessError(format!(
            "linux.memoryPolicy {} nodes \"{nodes}\": set_mempolicy: {}",
            p.mode(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(j: &str) -> LinuxMemoryPolicy {
        serde_json::from_str(j).unwrap()
    }

    #[test]
    fn modes_and_flags() {
        let p = policy(r#"{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}"#);
        assert_eq!(mode_bits(&p), 2 | (1 << 15));
        assert!(check(&p).is_ok());
        let p = policy(r#"{"mode":"MPOL_INTERLEAVE"}"#);
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "linux.memoryPolicy.mode MPOL_INTERLEAVE needs nodes"
        );
        assert!(check(&policy(r#"{"mode":"MPOL_LOCAL","nodes":"0"}"#)).is_err());
    }
}
