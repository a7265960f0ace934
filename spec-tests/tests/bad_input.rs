//! Bad input is refused before anything touches the system: exit status 1,
//! exactly one line on stderr naming the field or value, and no state dir,
//! mount, cgroup or process left behind.

use serde_json::json;
use spec_tests::{
    cgroups_mentioning, host_mounts_mentioning, processes_mentioning, unique_id, Bundle, Out,
    Runtime,
};

/// Runs `create` (or, with a written config.json already in place, just
/// `create`) and checks the refusal and that nothing was left.
fn assert_refused(rt: &Runtime, id: &str, b: &Bundle, needle: &str, write_config: bool) -> Out {
    if write_config {
        b.write_config();
    }
    rt.track(id);
    let mut c = rt.command();
    c.arg("create").arg("--bundle").arg(b.path()).arg(id);
    let out = rt.to_files(c, b);
    assert_eq!(out.code, Some(1), "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "want exactly one stderr line\n{out}");
    assert!(
        lines[0].contains(needle),
        "stderr does not name {needle:?}\n{out}"
    );
    assert_nothing_left(rt, id, b);
    out
}

fn assert_nothing_left(rt: &Runtime, id: &str, b: &Bundle) {
    // (`..` and `.` always "exist" below --root; the emptiness check covers them.)
    if !id.is_empty() && !id.contains('/') && id != ".." && id != "." {
        assert!(!rt.root().join(id).exists(), "state dir left for {id:?}");
    }
    let left: Vec<_> = std::fs::read_dir(rt.root())
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "--root not empty: {left:?}");
    let bundle = b.path().to_string_lossy().into_owned();
    assert_eq!(
        host_mounts_mentioning(&bundle),
        Vec::<String>::new(),
        "host mounts left"
    );
    if !id.is_empty() {
        assert_eq!(
            processes_mentioning(id),
            Vec::<u32>::new(),
            "processes left"
        );
        assert!(
            cgroups_mentioning(id).is_empty(),
            "cgroups left: {:?}",
            cgroups_mentioning(id)
        );
    }
}

#[test]
fn malformed_json_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    std::fs::write(
        b.path().join("config.json"),
        "{\"ociVersion\": \"1.0.2\", \"process\": {",
    )
    .expect("write");
    assert_refused(&rt, &unique_id("badjson"), &b, "config.json", false);
}

#[test]
fn unsupported_oci_version_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["ociVersion"] = "9.0.0".into();
    assert_refused(&rt, &unique_id("ociver"), &b, "9.0.0", true);
}

#[test]
fn missing_rootfs_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    std::fs::remove_dir_all(b.rootfs()).expect("remove rootfs");
    assert_refused(&rt, &unique_id("norootfs"), &b, "rootfs", true);
}

#[test]
fn unknown_namespace_type_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("ns")
        .push(json!({"type": "pidd"}));
    assert_refused(&rt, &unique_id("badns"), &b, "pidd", true);
}

#[test]
fn unknown_capability_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_FOO"]);
    assert_refused(&rt, &unique_id("badcap"), &b, "CAP_FOO", true);
}

#[test]
fn unknown_rlimit_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]);
    assert_refused(&rt, &unique_id("badrlimit"), &b, "RLIMIT_FOO", true);
}

#[test]
fn bind_mount_with_a_missing_source_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let missing = b.path().join("no-such-source");
    b.add_mount(
        json!({"destination": "/data", "type": "bind", "source": missing, "options": ["bind"]}),
    );
    assert_refused(&rt, &unique_id("nosrc"), &b, "no-such-source", true);
}

#[test]
fn empty_id_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    assert_refused(&rt, "", &b, "id", true);
}

#[test]
fn id_with_a_slash_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    let id = format!("{}/x", unique_id("slash"));
    assert_refused(&rt, &id, &b, &id, true);
}

#[test]
fn id_dot_dot_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    assert_refused(&rt, "..", &b, "..", true);
    let parent = rt.root().parent().expect("root has a parent");
    assert!(
        !parent.join("state.json").exists(),
        "state written above --root"
    );
}

#[test]
fn duplicate_id_is_refused_and_the_first_container_is_intact() {
    let rt = Runtime::new();
    let first = Bundle::checker(&["sleep"]);
    let id = unique_id("dup");
    rt.create(&id, &first, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].clone();
    let second = Bundle::checker(&["sleep"]);
    second.write_config();
    let mut c = rt.command();
    c.arg("create").arg("--bundle").arg(second.path()).arg(&id);
    let out = rt.to_files(c, &second);
    assert_eq!(out.code, Some(1), "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains(&id), "{out}");
    let st = rt.state(&id).expect("first container still known");
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"], pid);
    let b = std::fs::canonicalize(first.path()).expect("canonical");
    assert_eq!(st["bundle"], b.to_string_lossy().as_ref());
}

#[test]
fn kill_with_an_unknown_signal_is_refused_and_the_container_keeps_running() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("badsig");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let out = rt.exec(&["kill", &id, "SIGFOO"]);
    assert_eq!(out.code, Some(1), "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].contains("SIGFOO") || lines[0].contains("FOO"),
        "{out}"
    );
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
}

#[test]
fn relative_cwd_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["cwd"] = "relative/dir".into();
    assert_refused(&rt, &unique_id("relcwd"), &b, "relative/dir", true);
}

#[test]
fn empty_args_are_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["args"] = json!([]);
    assert_refused(&rt, &unique_id("noargs"), &b, "args", true);
}

#[test]
fn unknown_device_type_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["devices"] =
        json!([{"path": "/dev/odd", "type": "x", "major": 1, "minor": 3}]);
    assert_refused(&rt, &unique_id("devtype"), &b, "\"x\"", true);
}

#[test]
fn relative_hook_path_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["hooks"] = json!({"createRuntime": [{"path": "bin/true"}]});
    assert_refused(&rt, &unique_id("hookpath"), &b, "bin/true", true);
}

#[test]
fn unknown_seccomp_action_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_SOMETIMES"});
    assert_refused(&rt, &unique_id("scact"), &b, "SCMP_ACT_SOMETIMES", true);
}

#[test]
fn hostname_without_a_uts_namespace_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.drop_namespace("uts");
    assert_refused(&rt, &unique_id("nouts"), &b, "hostname", true);
}

#[test]
fn sysctl_outside_any_container_namespace_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    // The host's own value, so a runtime that wrongly writes it changes nothing.
    let host = std::fs::read_to_string("/proc/sys/kernel/panic").expect("kernel.panic");
    b.config["linux"]["sysctl"] = json!({"kernel.panic": host.trim()});
    assert_refused(&rt, &unique_id("hostsysctl"), &b, "kernel.panic", true);
}

#[test]
fn net_sysctl_without_a_network_namespace_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.drop_namespace("network");
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("ip_forward");
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": host.trim()});
    assert_refused(
        &rt,
        &unique_id("netsysctl"),
        &b,
        "net.ipv4.ip_forward",
        true,
    );
}

#[test]
fn duplicate_namespace_type_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("ns")
        .push(json!({"type": "ipc"}));
    assert_refused(&rt, &unique_id("dupns"), &b, "ipc", true);
}

#[test]
fn rlimit_above_the_callers_hard_limit_fails_with_one_clear_line() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    // No CAP_SYS_RESOURCE here: raising the hard limit fails with EPERM inside init.
    b.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1u64 << 40}]);
    assert_refused(&rt, &unique_id("rlimitup"), &b, "RLIMIT_NOFILE", true);
}

#[test]
fn missing_executable_is_reported_and_nothing_is_left() {
    let rt = Runtime::new();
    let b = Bundle::with_args(&["/no-such-program"]);
    let id = unique_id("noexe");
    let out = rt.run(&id, &b, &[]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("/no-such-program"), "{out}");
    assert_nothing_left(&rt, &id, &b);
}

#[test]
fn oom_score_adj_below_the_callers_fails_with_one_clear_line() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    // No CAP_SYS_RESOURCE here: lowering oom_score_adj fails with EPERM.
    b.config["process"]["oomScoreAdj"] = json!(-999);
    let id = unique_id("oomdown");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.arg("create").arg("--bundle").arg(b.path()).arg(&id);
    let out = rt.to_files(c, &b);
    assert_eq!(out.code, Some(1), "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "want exactly one stderr line\n{out}");
    assert!(
        lines[0].to_lowercase().contains("oom"),
        "stderr does not name oom_score_adj\n{out}"
    );
    assert_nothing_left(&rt, &id, &b);
}
