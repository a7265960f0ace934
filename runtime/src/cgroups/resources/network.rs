//! `linux.resources.network` (v1 `net_cls` and `net_prio` only).

use oci_spec::runtime::LinuxNetwork;

use super::Write;

const F: &str = "linux.resources.network";

/// v1 writes.
pub fn v1(n: &LinuxNetwork, w: &mut Vec<Write>) {
    if let Some(id) = n.class_id() {
        w.push(Write::set(
            "net_cls",
            format!("{F}.classID"),
            "net_cls.classid",
            id,
        ));
    }
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        let value = format!("{} {}", p.name(), p.priority());
        w.push(Write::set(
            "net_prio",
            format!("{F}.priorities[{i}]"),
            "net_prio.ifpriomap",
            value,
        ));
    }
}

/// v2 has neither controller.
pub fn v2(n: &LinuxNetwork, w: &mut Vec<Write>) {
    if n.class_id().is_some() {
        w.push(Write::refuse(
            "net_cls",
            format!("{F}.classID"),
            "cgroup v2 has no net_cls controller",
        ));
    }
    if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
        w.push(Write::refuse(
            "net_prio",
            format!("{F}.priorities"),
            "cgroup v2 has no net_prio controller",
        ));
    }
}
