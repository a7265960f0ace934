//! `linux.resources.pids` (same file on v1 and v2).

use oci_spec::runtime::LinuxPids;

use super::Write;

/// `pids.max`: a positive limit, else no limit.
pub fn plan(p: &LinuxPids, w: &mut Vec<Write>) {
    let limit = p.limit();
    let value = if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    };
    w.push(Write::set(
        "pids",
        "linux.resources.pids.limit",
        "pids.max",
        value,
    ));
}
