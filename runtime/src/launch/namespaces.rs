//! Which namespaces a container gets fresh and which it joins.

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};
use std::path::PathBuf;

/// `CLONE_NEWTIME`, which nix does not name.
pub const CLONE_NEWTIME: libc::c_int = 0x80;

/// The clone flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => CLONE_NEWTIME,
    }
}

/// The namespace plan: fresh ones as unshare flags, joined ones as paths.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// A new user namespace (made first, so the others belong to it).
    pub new_user: bool,
    /// Flags for the other new namespaces.
    pub new_flags: libc::c_int,
    /// Namespaces to join, the user namespace first and the mount one last.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
}

/// Decides the plan from `linux.namespaces`.
pub fn plan(spec: &Spec) -> Plan {
    let mut p = Plan::default();
    let list: &[LinuxNamespace] = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or(&[]);
    for ns in list {
        match ns.path() {
            Some(path) => p.join.push((ns.typ(), path.clone())),
            None if ns.typ() == LinuxNamespaceType::User => p.new_user = true,
            None => p.new_flags |= flag(ns.typ()),
        }
    }
    order_joins(&mut p.join);
    p
}

/// Joining the user namespace first gives the caps needed for the others;
/// joining the mount namespace last keeps the remaining paths valid till then.
fn order_joins(join: &mut [(LinuxNamespaceType, PathBuf)]) {
    join.sort_by_key(|(t, _)| match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 2,
        _ => 1,
    });
}

/// The plan of `berth exec`: join every namespace the container has,
/// through its init's /proc/<pid>/ns links.
pub fn plan_join(spec: &Spec, init_pid: i32) -> Plan {
    let mut p = Plan::default();
    let list: &[LinuxNamespace] = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or(&[]);
    for ns in list {
        let name = match ns.typ() {
            LinuxNamespaceType::Pid => "pid",
            LinuxNamespaceType::Network => "net",
            LinuxNamespaceType::Mount => "mnt",
            LinuxNamespaceType::Ipc => "ipc",
            LinuxNamespaceType::Uts => "uts",
            LinuxNamespaceType::User => "user",
            LinuxNamespaceType::Cgroup => "cgroup",
            LinuxNamespaceType::Time => "time",
        };
        p.join.push((
            ns.typ(),
            PathBuf::from(format!("/proc/{init_pid}/ns/{name}")),
        ));
    }
    order_joins(&mut p.join);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_first_mount_last() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.3.0","linux":{"namespaces":[
            {"type":"mount","path":"/proc/1/ns/mnt"},{"type":"pid"},
            {"type":"network","path":"/proc/1/ns/net"},{"type":"user","path":"/proc/1/ns/user"},
            {"type":"time"}]}}"#,
        )
        .unwrap();
        let p = plan(&spec);
        assert!(!p.new_user);
        assert_eq!(p.new_flags, libc::CLONE_NEWPID | CLONE_NEWTIME);
        let order: Vec<_> = p.join.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            order,
            vec![
                LinuxNamespaceType::User,
                LinuxNamespaceType::Network,
                LinuxNamespaceType::Mount
            ]
        );
    }
}
