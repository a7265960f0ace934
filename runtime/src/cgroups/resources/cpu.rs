//! `linux.resources.cpu` (the `cpu` and `cpuset` controllers).

use oci_spec::runtime::LinuxCpu;

use super::Write;
use crate::cgroups::CgroupError;

const F: &str = "linux.resources.cpu";

/// The v1 share range the kernel accepts without clamping.
const SHARES: std::ops::RangeInclusive<u64> = 2..=262_144;

/// cgroup v2 `cpu.weight` for v1 `cpu.shares`, the conversion runc and
/// crun use: 2..262144 maps linearly onto 1..10000.
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

fn check(c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        if !SHARES.contains(&s) {
            return Err(CgroupError(format!(
                "{F}.shares {s} is out of range 2-262144"
            )));
        }
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        if !(1000..=1_000_000).contains(&p) {
            return Err(CgroupError(format!(
                "{F}.period {p} is out of range 1000-1000000 (microseconds)"
            )));
        }
    }
    if let Some(q) = c.quota() {
        if q != -1 && q != 0 && q < 1000 {
            return Err(CgroupError(format!(
                "{F}.quota {q} is out of range (at least 1000 microseconds, or -1)"
            )));
        }
    }
    if let Some(i) = c.idle() {
        if i != 0 && i != 1 {
            return Err(CgroupError(format!("{F}.idle {i} must be 0 or 1")));
        }
    }
    Ok(())
}

fn cpuset(c: &LinuxCpu, w: &mut Vec<Write>) {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        w.push(Write::set(
            "cpuset",
            format!("{F}.cpus"),
            "cpuset.cpus",
            cpus,
        ));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        w.push(Write::set(
            "cpuset",
            format!("{F}.mems"),
            "cpuset.mems",
            mems,
        ));
    }
}

/// v1 writes: the period before the quota, the rt period before the runtime.
pub fn v1(c: &LinuxCpu, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    check(c)?;
    let k = "cpu";
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        w.push(Write::set(k, format!("{F}.shares"), "cpu.shares", s));
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        w.push(Write::set(k, format!("{F}.period"), "cpu.cfs_period_us", p));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        w.push(Write::set(k, format!("{F}.quota"), "cpu.cfs_quota_us", q));
    }
    if let Some(b) = c.burst() {
        w.push(Write::set(k, format!("{F}.burst"), "cpu.cfs_burst_us", b));
    }
    if let Some(i) = c.idle() {
        w.push(Write::set(k, format!("{F}.idle"), "cpu.idle", i));
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        w.push(Write::set(
            k,
            format!("{F}.realtimePeriod"),
            "cpu.rt_period_us",
            p,
        ));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        w.push(Write::set(
            k,
            format!("{F}.realtimeRuntime"),
            "cpu.rt_runtime_us",
            r,
        ));
    }
    cpuset(c, w);
    Ok(())
}

/// The `cpu.max` value, if quota or period is set: "max" without a quota.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|q| *q != 0);
    let period = period.filter(|p| *p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut v = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    if let Some(p) = period {
        v.push_str(&format!(" {p}"));
    }
    Some(v)
}

/// v2 writes.
pub fn v2(c: &LinuxCpu, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    check(c)?;
    let k = "cpu";
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        w.push(Write::set(
            k,
            format!("{F}.shares"),
            "cpu.weight",
            shares_to_weight(s),
        ));
    }
    if let Some(v) = cpu_max(c.quota(), c.period()) {
        let field = if c.quota().is_some_and(|q| q != 0) {
            "quota"
        } else {
            "period"
        };
        w.push(Write::set(k, format!("{F}.{field}"), "cpu.max", v));
    }
    if let Some(b) = c.burst() {
        w.push(Write::set(k, format!("{F}.burst"), "cpu.max.burst", b));
    }
    if let Some(i) = c.idle() {
        w.push(Write::set(k, format!("{F}.idle"), "cpu.idle", i));
    }
    if c.realtime_period().is_some_and(|p| p != 0) {
        w.push(Write::refuse(
            k,
            format!("{F}.realtimePeriod"),
            "cgroup v2 has no realtime CPU limits",
        ));
    }
    if c.realtime_runtime().is_some_and(|r| r != 0) {
        w.push(Write::refuse(
            k,
            format!("{F}.realtimeRuntime"),
            "cgroup v2 has no realtime CPU limits",
        ));
    }
    cpuset(c, w);
    Ok(())
}
