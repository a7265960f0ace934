//! `linux.resources.memory`.

use oci_spec::runtime::LinuxMemory;

use super::Write;
use crate::cgroups::CgroupError;

const F: &str = "linux.resources.memory";

/// A byte limit: positive, or -1 for none; 0 means "not set" (as runc).
fn limit(v: Option<i64>, name: &str) -> Result<Option<i64>, CgroupError> {
    match v {
        None | Some(0) => Ok(None),
        Some(v) if v == -1 || v > 0 => Ok(Some(v)),
        Some(v) => Err(CgroupError(format!(
            "{F}.{name} {v} is out of range (a byte count, or -1 for no limit)"
        ))),
    }
}

fn check_swap(m: &LinuxMemory) -> Result<(Option<i64>, Option<i64>), CgroupError> {
    let mem = limit(m.limit(), "limit")?;
    let swap = limit(m.swap(), "swap")?;
    if let (Some(l), Some(s)) = (mem, swap) {
        if l > 0 && s > 0 && s < l {
            return Err(CgroupError(format!(
                "{F}.swap {s} is below {F}.limit {l} (swap is the limit of memory plus swap)"
            )));
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError(format!(
                "{F}.swappiness {s} is out of range 0-100"
            )));
        }
    }
    Ok((mem, swap))
}

/// v1 writes: the limit before memory+swap (the runner swaps them when the
/// kernel needs memsw raised first).
pub fn v1(m: &LinuxMemory, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    let (mem, swap) = check_swap(m)?;
    let c = "memory";
    if let Some(l) = mem {
        w.push(Write::set(
            c,
            format!("{F}.limit"),
            "memory.limit_in_bytes",
            l,
        ));
    }
    if let Some(s) = swap {
        w.push(Write::set(
            c,
            format!("{F}.swap"),
            "memory.memsw.limit_in_bytes",
            s,
        ));
    }
    if let Some(r) = limit(m.reservation(), "reservation")? {
        w.push(Write::set(
            c,
            format!("{F}.reservation"),
            "memory.soft_limit_in_bytes",
            r,
        ));
    }
    if let Some(k) = limit(m.kernel(), "kernel")? {
        w.push(Write::set(
            c,
            format!("{F}.kernel"),
            "memory.kmem.limit_in_bytes",
            k,
        ));
    }
    if let Some(k) = limit(m.kernel_tcp(), "kernelTCP")? {
        w.push(Write::set(
            c,
            format!("{F}.kernelTCP"),
            "memory.kmem.tcp.limit_in_bytes",
            k,
        ));
    }
    if let Some(s) = m.swappiness() {
        w.push(Write::set(
            c,
            format!("{F}.swappiness"),
            "memory.swappiness",
            s,
        ));
    }
    if let Some(d) = m.disable_oom_killer() {
        w.push(Write::set(
            c,
            format!("{F}.disableOOMKiller"),
            "memory.oom_control",
            u8::from(d),
        ));
    }
    if let Some(h) = m.use_hierarchy() {
        w.push(Write::set(
            c,
            format!("{F}.useHierarchy"),
            "memory.use_hierarchy",
            u8::from(h),
        ));
    }
    Ok(())
}

fn max(v: i64) -> String {
    if v == -1 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// v2 writes. Swap in the spec counts memory plus swap; v2's
/// `memory.swap.max` counts swap alone.
pub fn v2(m: &LinuxMemory, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    let (mem, swap) = check_swap(m)?;
    let c = "memory";
    if let Some(l) = mem {
        w.push(Write::set(c, format!("{F}.limit"), "memory.max", max(l)));
    }
    match (mem, swap) {
        (_, None) => {}
        (_, Some(-1)) => w.push(Write::set(c, format!("{F}.swap"), "memory.swap.max", "max")),
        (Some(l), Some(s)) if l > 0 => {
            w.push(Write::set(c, format!("{F}.swap"), "memory.swap.max", s - l));
        }
        (_, Some(_)) => w.push(Write::refuse(
            c,
            format!("{F}.swap"),
            "on cgroup v2 a swap limit needs memory.limit too (v2 limits swap alone)",
        )),
    }
    if let Some(r) = limit(m.reservation(), "reservation")? {
        w.push(Write::set(
            c,
            format!("{F}.reservation"),
            "memory.low",
            max(r),
        ));
    }
    for (name, v) in [("kernel", m.kernel()), ("kernelTCP", m.kernel_tcp())] {
        if limit(v, name)?.is_some() {
            w.push(Write::refuse(
                c,
                format!("{F}.{name}"),
                "cgroup v2 has no separate kernel memory limit",
            ));
        }
    }
    if m.swappiness().is_some() {
        w.push(Write::refuse(
            c,
            format!("{F}.swappiness"),
            "cgroup v2 has no per-cgroup swappiness",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        w.push(Write::refuse(
            c,
            format!("{F}.disableOOMKiller"),
            "cgroup v2 cannot disable the OOM killer",
        ));
    }
    if m.use_hierarchy() == Some(false) {
        w.push(Write::refuse(
            c,
            format!("{F}.useHierarchy"),
            "cgroup v2 is always hierarchical",
        ));
    }
    Ok(())
}
