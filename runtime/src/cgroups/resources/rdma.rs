//! `linux.resources.rdma` (same `rdma.max` format on v1 and v2).

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use super::Write;

/// One `rdma.max` line per device, in name order.
pub fn plan(rdma: &HashMap<String, LinuxRdma>, w: &mut Vec<Write>) {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, limits) in devices {
        let mut value = dev.clone();
        if let Some(h) = limits.hca_handles() {
            value.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = limits.hca_objects() {
            value.push_str(&format!(" hca_object={o}"));
        }
        if value.len() > dev.len() {
            w.push(Write::set(
                "rdma",
                format!("linux.resources.rdma[{dev:?}]"),
                "rdma.max",
                value,
            ));
        }
    }
}
