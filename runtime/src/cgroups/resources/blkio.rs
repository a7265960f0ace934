//! `linux.resources.blockIO` (v1 `blkio`, v2 `io`).

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::Write;
use crate::cgroups::CgroupError;

const F: &str = "linux.resources.blockIO";

fn check_weight(v: u16, field: &str) -> Result<u16, CgroupError> {
    if !(10..=1000).contains(&v) {
        return Err(CgroupError(format!("{field} {v} is out of range 10-1000")));
    }
    Ok(v)
}

/// v2 `io.weight` for a v1 blkio weight: 10..1000 onto 1..10000.
pub fn weight_to_io(w: u16) -> u64 {
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

const THROTTLES: [(&str, &str, &str); 4] = [
    (
        "throttleReadBpsDevice",
        "blkio.throttle.read_bps_device",
        "rbps",
    ),
    (
        "throttleWriteBpsDevice",
        "blkio.throttle.write_bps_device",
        "wbps",
    ),
    (
        "throttleReadIOPSDevice",
        "blkio.throttle.read_iops_device",
        "riops",
    ),
    (
        "throttleWriteIOPSDevice",
        "blkio.throttle.write_iops_device",
        "wiops",
    ),
];

fn throttles(b: &LinuxBlockIo) -> [Option<&Vec<LinuxThrottleDevice>>; 4] {
    [
        b.throttle_read_bps_device().as_ref(),
        b.throttle_write_bps_device().as_ref(),
        b.throttle_read_iops_device().as_ref(),
        b.throttle_write_iops_device().as_ref(),
    ]
}

/// v1 writes.
pub fn v1(b: &LinuxBlockIo, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    let c = "blkio";
    if let Some(v) = b.weight() {
        let v = check_weight(v, &format!("{F}.weight"))?;
        w.push(Write::set(c, format!("{F}.weight"), "blkio.weight", v));
    }
    if let Some(v) = b.leaf_weight() {
        let v = check_weight(v, &format!("{F}.leafWeight"))?;
        w.push(Write::set(
            c,
            format!("{F}.leafWeight"),
            "blkio.leaf_weight",
            v,
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let dev = format!("{}:{}", d.major(), d.minor());
        if let Some(v) = d.weight() {
            let field = format!("{F}.weightDevice[{i}].weight");
            let v = check_weight(v, &field)?;
            w.push(Write::set(
                c,
                field,
                "blkio.weight_device",
                format!("{dev} {v}"),
            ));
        }
        if let Some(v) = d.leaf_weight() {
            let field = format!("{F}.weightDevice[{i}].leafWeight");
            let v = check_weight(v, &field)?;
            w.push(Write::set(
                c,
                field,
                "blkio.leaf_weight_device",
                format!("{dev} {v}"),
            ));
        }
    }
    for ((name, file, _), list) in THROTTLES.iter().zip(throttles(b)) {
        for (i, d) in list.into_iter().flatten().enumerate() {
            let value = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            w.push(Write::set(c, format!("{F}.{name}[{i}]"), *file, value));
        }
    }
    Ok(())
}

/// v2 writes (`io.weight`, `io.max`).
pub fn v2(b: &LinuxBlockIo, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    let c = "io";
    if let Some(v) = b.weight() {
        let v = check_weight(v, &format!("{F}.weight"))?;
        w.push(Write::set(
            c,
            format!("{F}.weight"),
            "io.weight",
            format!("default {}", weight_to_io(v)),
        ));
    }
    if b.leaf_weight().is_some() {
        w.push(Write::refuse(
            c,
            format!("{F}.leafWeight"),
            "cgroup v2 has no leaf weight",
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(v) = d.weight() {
            let field = format!("{F}.weightDevice[{i}].weight");
            let v = check_weight(v, &field)?;
            let value = format!("{}:{} {}", d.major(), d.minor(), weight_to_io(v));
            w.push(Write::set(c, field, "io.weight", value));
        }
        if d.leaf_weight().is_some() {
            w.push(Write::refuse(
                c,
                format!("{F}.weightDevice[{i}].leafWeight"),
                "cgroup v2 has no leaf weight",
            ));
        }
    }
    for ((name, _, key), list) in THROTTLES.iter().zip(throttles(b)) {
        for (i, d) in list.into_iter().flatten().enumerate() {
            let value = format!("{}:{} {key}={}", d.major(), d.minor(), d.rate());
            w.push(Write::set(c, format!("{F}.{name}[{i}]"), "io.max", value));
        }
    }
    Ok(())
}
