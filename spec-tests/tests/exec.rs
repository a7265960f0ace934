//! `exec`: a new process in a running container's namespaces, cgroup and
//! root, with the container's (or overridden) process settings.

use serde_json::{json, Value};
use spec_tests::{read_text, unique_id, Bundle, Runtime};
use std::path::Path;

/// Creates and starts a `checker sleep` container; returns its id and init pid.
fn running(rt: &Runtime, b: &Bundle) -> (String, i64) {
    let id = unique_id("exec");
    rt.create(&id, b, &[]).ok();
    rt.start_ready(&id, b, 1);
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    (id, pid)
}

fn ns_inode(pid: i64, ns: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
        .expect("ns")
        .ino()
}

#[test]
fn exec_runs_in_the_container_namespaces() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, pid) = running(&rt, &b);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let r = out.json();
    for (ns, key) in [
        ("pid", "pid"),
        ("net", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
        ("mnt", "mnt"),
        ("cgroup", "cgroup"),
    ] {
        assert_eq!(
            r["namespaces"][key].as_u64(),
            Some(ns_inode(pid, ns)),
            "{ns}"
        );
    }
    assert_ne!(r["pid"], 1, "exec'd process is not the init");
}

#[test]
fn exec_process_is_in_the_container_cgroup() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.drop_namespace("cgroup");
    let (id, pid) = running(&rt, &b);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let inside: Vec<String> = spec_tests::report::strings(&out.json()["cgroup"]);
    let init = read_text(Path::new(&format!("/proc/{pid}/cgroup")));
    let pids_line = |lines: Vec<String>| lines.into_iter().find(|l| l.contains(":pids:"));
    assert_eq!(
        pids_line(inside),
        pids_line(init.lines().map(str::to_string).collect()),
        "pids cgroup of exec vs init"
    );
}

#[test]
fn exec_exit_status_is_the_process_status() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _) = running(&rt, &b);
    let out = rt.exec(&["exec", &id, "/checker", "exit", "42"]);
    assert_eq!(out.code, Some(42), "{out}");
}

#[test]
fn exec_inherits_the_container_process_settings() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["process"]["env"] = json!(["PATH=/bin", "FROM_CONFIG=1"]);
    b.config["process"]["cwd"] = "/etc".into();
    let (id, _) = running(&rt, &b);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let r = out.json();
    // As runc: the config's process is the base an exec'd command inherits.
    assert_eq!(spec_tests::report::env(&r, "FROM_CONFIG"), Some("1"));
    assert_eq!(r["cwd"], "/etc");
    assert_eq!(r["no_new_privs"], true);
    let mut caps = spec_tests::report::caps(&r, "bounding");
    caps.sort();
    assert_eq!(
        caps,
        ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    );
}

#[test]
fn exec_env_cwd_and_user_flags_are_applied() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _) = running(&rt, &b);
    let out = rt.exec(&[
        "exec",
        "--env",
        "EXTRA=yes",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1000",
        &id,
        "/checker",
    ]);
    out.ok();
    let r = out.json();
    assert_eq!(spec_tests::report::env(&r, "EXTRA"), Some("yes"));
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(
        (r["uid"].as_u64(), r["gid"].as_u64()),
        (Some(1000), Some(1000))
    );
}

#[test]
fn exec_process_json_is_used() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _) = running(&rt, &b);
    let process: Value = json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": ["/checker"],
        "env": ["PATH=/bin", "FROM_JSON=1"],
        "cwd": "/bin",
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 77, "hard": 77}],
        "noNewPrivileges": true
    });
    let file = b.path().join("process.json");
    std::fs::write(&file, process.to_string()).expect("write process.json");
    let out = rt.exec(&["exec", "--process", &file.to_string_lossy(), &id]);
    out.ok();
    let r = out.json();
    assert_eq!(spec_tests::report::env(&r, "FROM_JSON"), Some("1"));
    assert_eq!(r["cwd"], "/bin");
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 77, "hard": 77})
    );
}

#[test]
fn exec_leaks_no_descriptors() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _) = running(&rt, &b);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let r = out.json();
    assert_eq!(spec_tests::report::fds(&r), [0, 1, 2], "{}", r["fds"]);
}

#[test]
fn exec_cwd_through_proc_self_fd_stays_inside_the_root() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _) = running(&rt, &b);
    for n in 3..10 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = rt.exec(&["exec", "--cwd", &cwd, &id, "/checker", "cwd-escape"]);
        if !out.stdout.contains('{') {
            continue; // refused: fine
        }
        let v = out.json();
        assert_eq!(v["reaches_root"], true, "cwd fd {n} escaped: {v}");
        assert!(v["getcwd"].is_string(), "cwd fd {n} is unreachable: {v}");
        assert_eq!(
            v["sees_etc_os_release_above"], false,
            "cwd fd {n} sees the host: {v}"
        );
    }
}

#[test]
fn exec_in_a_stopped_container_fails() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("execstopped");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    let out = rt.exec(&["exec", &id, "/checker"]);
    assert_ne!(out.code, Some(0), "{out}");
}

#[test]
fn exec_cpu_affinity_final_pins_the_process() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let (id, _pid) = running(&rt, &b);
    let file = b.path().join("process.json");
    let p = json!({
        "args": ["grep", "Cpus_allowed_list", "/proc/self/status"],
        "cwd": "/",
        "user": {"uid": 0, "gid": 0},
        "env": ["PATH=/bin"],
        "execCPUAffinity": {"initial": "0", "final": "0"}
    });
    std::fs::write(&file, p.to_string()).expect("write process.json");
    let out = rt.exec(&["exec", "--process", &file.to_string_lossy(), &id]);
    out.ok();
    assert_eq!(out.stdout.split_whitespace().last(), Some("0"), "{out}");
}
