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

#[test]
fn resources_are_written_to_the_cgroup() {
    // Declared first so it is dropped last, after the runtime deleted the container.
    let parent = unique_id("cgres");
    let _cleanup = CgroupGuard::new(&parent);
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    b.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    b.config["linux"]["resources"]["cpu"] = json!({"shares": 512});
    let path = format!("/{parent}/c1");
    let (id, _pid) = create_in(&rt, &mut b, &path);
    let read = |ctrl: &str, file: &str| {
        read_text(
            &Path::new("/sys/fs/cgroup")
                .join(ctrl)
                .join(&parent)
                .join("c1")
                .join(file),
        )
        .trim()
        .to_string()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(read("pids", "pids.max"), "50");
    assert_eq!(read("cpu", "cpu.shares"), "512");
    rt.exec(&["delete", "--force", &id]).ok();
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
