//! linux.cgroupsPath placement (absolute and relative), resources written to
//! the cgroup, the cgroup namespace, and cleanup on delete.

use serde_json::json;
use spec_tests::{read_text, unique_id, Bundle, CgroupGuard, Runtime};
use std::path::Path;

/// The v1 cgroup path of `pid` for `controller` (from /proc/PID/cgroup).
fn cgroup_of(pid: &str, controller: &str) -> Option<String> {
    read_text(Path::new(&format!("/proc/{pid}/cgroup")))
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            ctrls
                .split(',')
                .any(|c| c == controller)
                .then(|| path.to_string())
        })
}

fn create_in(rt: &Runtime, b: &mut Bundle, path: &str) -> (String, String) {
    b.config["linux"]["cgroupsPath"] = path.into();
    let id = unique_id("cg");
    rt.create(&id, b, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].to_string();
    (id, pid)
}

#[test]
fn absolute_cgroups_path_is_used_in_every_controller() {
    // Declared first so it is dropped last, after the runtime deleted the container.
    let parent = unique_id("cgabs");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    let path = format!("/{parent}/c1");
    let (id, pid) = create_in(&rt, &mut b, &path);
    for ctrl in ["pids", "memory", "cpu", "devices", "freezer"] {
        assert_eq!(
            cgroup_of(&pid, ctrl).as_deref(),
            Some(path.as_str()),
            "{ctrl}"
        );
    }
    rt.exec(&["delete", "--force", &id]).ok();
    assert!(
        !Path::new("/sys/fs/cgroup/pids")
            .join(&parent)
            .join("c1")
            .exists(),
        "cgroup left"
    );
}

#[test]
fn relative_cgroups_path_nests_below_the_callers_cgroup() {
    // Declared first so it is dropped last, after the runtime deleted the container.
    let parent = unique_id("cgrel");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    let rel = format!("{parent}/c1");
    let (id, pid) = create_in(&rt, &mut b, &rel);
    let me = std::process::id().to_string();
    for ctrl in ["memory", "pids"] {
        let own = cgroup_of(&me, ctrl).expect("own cgroup");
        let want = format!("{}/{rel}", own.trim_end_matches('/'));
        assert_eq!(cgroup_of(&pid, ctrl), Some(want), "{ctrl}");
    }
    rt.exec(&["delete", "--force", &id]).ok();
}

/// Creates a container with `resources` in its own cgroup and returns the
/// contents of `file` in `controller` for it.
fn cgroup_file_with(resources: serde_json::Value, controller: &str, file: &str) -> String {
    let parent = unique_id("cgres");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["linux"]["resources"] = resources;
    let (id, _pid) = create_in(&rt, &mut b, &format!("/{parent}/c1"));
    let path = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(&parent)
        .join("c1")
        .join(file);
    let value = read_text(&path).trim().to_string();
    rt.exec(&["delete", "--force", &id]).ok();
    value
}

#[test]
fn memory_limit_is_written_to_the_cgroup() {
    let v = cgroup_file_with(
        json!({"memory": {"limit": 67108864}}),
        "memory",
        "memory.limit_in_bytes",
    );
    assert_eq!(v, "67108864");
}

#[test]
fn memory_reservation_is_written_to_the_cgroup() {
    let v = cgroup_file_with(
        json!({"memory": {"reservation": 33554432}}),
        "memory",
        "memory.soft_limit_in_bytes",
    );
    assert_eq!(v, "33554432");
}

#[test]
fn pids_limit_is_written_to_the_cgroup() {
    let v = cgroup_file_with(json!({"pids": {"limit": 50}}), "pids", "pids.max");
    assert_eq!(v, "50");
}

#[test]
fn cpu_shares_are_written_to_the_cgroup() {
    let v = cgroup_file_with(json!({"cpu": {"shares": 512}}), "cpu", "cpu.shares");
    assert_eq!(v, "512");
}

#[test]
fn cpu_quota_and_period_are_written_to_the_cgroup() {
    let res = json!({"cpu": {"quota": 50000, "period": 100000}});
    assert_eq!(
        cgroup_file_with(res.clone(), "cpu", "cpu.cfs_quota_us"),
        "50000"
    );
    assert_eq!(cgroup_file_with(res, "cpu", "cpu.cfs_period_us"), "100000");
}

#[test]
fn cpuset_cpus_are_written_to_the_cgroup() {
    let v = cgroup_file_with(json!({"cpu": {"cpus": "0"}}), "cpuset", "cpuset.cpus");
    assert_eq!(v, "0");
}

#[test]
fn cgroup_namespace_hides_the_host_cgroup_path() {
    // Declared first so it is dropped last, after the runtime deleted the container.
    let parent = unique_id("cgns");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["cgroupsPath"] = format!("/{parent}/c1").into();
    let r = rt.report(&b);
    let lines = spec_tests::report::strings(&r["cgroup"]);
    let pids = lines
        .iter()
        .find(|l| l.contains(":pids:"))
        .expect("pids line");
    assert!(pids.ends_with(":/"), "{lines:?}");
}

#[test]
fn without_a_cgroup_namespace_the_container_sees_its_cgroup_path() {
    // Declared first so it is dropped last, after the runtime deleted the container.
    let parent = unique_id("cgnons");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.drop_namespace("cgroup");
    b.config["linux"]["cgroupsPath"] = format!("/{parent}/c1").into();
    let r = rt.report(&b);
    let lines = spec_tests::report::strings(&r["cgroup"]);
    let want = format!(":pids:/{parent}/c1");
    assert!(lines.iter().any(|l| l.ends_with(&want)), "{lines:?}");
}
