//! The runc-compatible command line: list, state, spec, kill signal names,
//! run exit codes, --log/--log-format.

use serde_json::{json, Value};
use spec_tests::{read_text, unique_id, Bundle, Runtime, TempDir};

#[test]
fn list_json_shows_every_container_with_its_status() {
    let rt = Runtime::new();
    let (a, b) = (Bundle::checker(&["sleep"]), Bundle::checker(&["sleep"]));
    let (ida, idb) = (unique_id("lista"), unique_id("listb"));
    rt.create(&ida, &a, &[]).ok();
    rt.create(&idb, &b, &[]).ok();
    rt.exec(&["start", &idb]).ok();
    let out = rt.exec(&["list", "--format", "json"]);
    out.ok();
    let list: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let status_of = |id: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|c| c["id"] == id))
            .map(|c| c["status"].clone())
    };
    assert_eq!(status_of(&ida), Some(json!("created")), "{list}");
    assert_eq!(status_of(&idb), Some(json!("running")), "{list}");
}

#[test]
fn list_quiet_prints_only_ids() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("listq");
    rt.create(&id, &b, &[]).ok();
    let out = rt.exec(&["list", "--quiet"]);
    out.ok();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [id.as_str()],
        "{out}"
    );
}

#[test]
fn list_table_has_a_header_and_a_row_per_container() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("listt");
    rt.create(&id, &b, &[]).ok();
    let out = rt.exec(&["list"]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.first().is_some_and(|h| h.starts_with("ID")), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&id) && l.contains("created")),
        "{out}"
    );
}

#[test]
fn list_of_an_empty_root_is_empty() {
    let rt = Runtime::new();
    let out = rt.exec(&["list", "--quiet"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "", "{out}");
}

#[test]
fn spec_writes_a_runc_like_config_json() {
    let rt = Runtime::new();
    let dir = TempDir::new("spec");
    let mut c = rt.command();
    c.arg("spec").current_dir(dir.path());
    rt.capture(c).ok();
    let text = read_text(&dir.path().join("config.json"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["process"]["terminal"], true);
    assert_eq!(v["process"]["args"], json!(["sh"]));
    assert_eq!(v["root"]["path"], "rootfs");
    assert!(
        v["ociVersion"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    let kinds: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    for k in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}

#[test]
fn spec_bundle_runs_once_terminal_is_off() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    let mut c = rt.command();
    c.arg("spec").current_dir(b.path());
    rt.capture(c).ok();
    let text = read_text(&b.path().join("config.json"));
    let mut v: Value = serde_json::from_str(&text).expect("spec output");
    v["process"]["terminal"] = false.into();
    v["process"]["args"] = json!(["/checker", "exit", "0"]);
    let mut b = b;
    b.config = v;
    rt.run(&unique_id("specrun"), &b, &[]).ok();
}

#[test]
fn spec_refuses_to_overwrite_config_json() {
    let rt = Runtime::new();
    let dir = TempDir::new("spec2");
    std::fs::write(dir.path().join("config.json"), "keep me").expect("write");
    let mut c = rt.command();
    c.arg("spec").current_dir(dir.path());
    let out = rt.capture(c);
    assert_ne!(out.code, Some(0), "{out}");
    assert_eq!(read_text(&dir.path().join("config.json")), "keep me");
}

fn kill_with(name: &str) -> String {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("sig");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    rt.exec(&["kill", &id, name]).ok();
    rt.wait_stopped(&id);
    read_text(&b.stdout_path())
}

#[test]
fn kill_accepts_a_bare_signal_name() {
    assert!(kill_with("USR1").contains("{\"signal\":10}"));
}

#[test]
fn kill_accepts_a_sig_prefixed_name() {
    assert!(kill_with("SIGUSR2").contains("{\"signal\":12}"));
}

#[test]
fn kill_accepts_a_signal_number() {
    assert!(kill_with("1").contains("{\"signal\":1}"));
}

#[test]
fn kill_sigkill_stops_the_container() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("sigkill");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    rt.exec(&["kill", &id, "KILL"]).ok();
    rt.wait_stopped(&id);
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
}

#[test]
fn kill_all_reaches_every_process_in_the_container() {
    let rt = Runtime::new();
    let b = Bundle::with_args(&["/bin/sh", "-c", "/checker sleep & /checker sleep & wait"]);
    let id = unique_id("killall");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 2);
    rt.exec(&["kill", "--all", &id, "TERM"]).ok();
    rt.wait_stopped(&id);
    let printed = read_text(&b.stdout_path());
    assert_eq!(printed.matches("{\"signal\":15}").count(), 2, "{printed:?}");
}

#[test]
fn run_exit_status_is_128_plus_the_killing_signal() {
    let rt = Runtime::new();
    // Outside a pid namespace the shell is not an init, so SIGKILL to itself works.
    let mut b = Bundle::with_args(&["/bin/sh", "-c", "kill -KILL $$"]);
    b.drop_namespace("pid");
    let out = rt.run(&unique_id("exit137"), &b, &[]);
    assert_eq!(out.code, Some(128 + 9), "{out}");
}

#[test]
fn delete_force_of_an_unknown_container_succeeds() {
    let rt = Runtime::new();
    rt.exec(&["delete", "--force", &unique_id("ghost")]).ok();
}

#[test]
fn delete_of_an_unknown_container_fails() {
    let rt = Runtime::new();
    let out = rt.exec(&["delete", &unique_id("ghost")]);
    assert_ne!(out.code, Some(0), "{out}");
}

#[test]
fn log_json_records_the_error_that_failed_create() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    std::fs::remove_dir_all(b.rootfs()).expect("remove rootfs");
    let log = b.path().join("log.json");
    let id = unique_id("logjson");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "create", "--bundle"]);
    c.arg(b.path()).arg(&id);
    let out = rt.to_files(c, &b);
    assert_ne!(out.code, Some(0), "{out}");
    let text = read_text(&log);
    let last_error = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"] == "error")
        .unwrap_or_else(|| panic!("no error line in log: {text:?}"));
    assert!(
        last_error["msg"]
            .as_str()
            .is_some_and(|m| m.contains("rootfs")),
        "{last_error}"
    );
    assert!(last_error["time"].is_string(), "{last_error}");
}

#[test]
fn state_json_has_the_oci_fields() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("statef");
    rt.create(&id, &b, &[]).ok();
    let st = rt.state(&id).expect("state");
    for key in ["ociVersion", "id", "status", "pid", "bundle"] {
        assert!(!st[key].is_null(), "{key} missing from {st}");
    }
}

#[test]
fn features_describe_the_supported_spec() {
    let rt = Runtime::new();
    let out = rt.exec(&["features"]);
    out.ok();
    let f: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        f["ociVersionMin"].is_string() && f["ociVersionMax"].is_string(),
        "{f}"
    );
    let hooks = spec_tests::report::strings(&f["hooks"]);
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.contains(&h.to_string()), "{h} missing from {hooks:?}");
    }
    let ns = spec_tests::report::strings(&f["linux"]["namespaces"]);
    for n in ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"] {
        assert!(ns.contains(&n.to_string()), "{n} missing from {ns:?}");
    }
    assert!(spec_tests::report::strings(&f["mountOptions"]).contains(&"ro".to_string()));
}

#[test]
fn features_oci_version_max_is_at_least_1_3() {
    let rt = Runtime::new();
    let out = rt.exec(&["features"]);
    out.ok();
    let f: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let max = f["ociVersionMax"].as_str().unwrap_or_default();
    let parts: Vec<u32> = max
        .split(['.', '-'])
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(
        parts.as_slice() >= [1, 3].as_slice(),
        "ociVersionMax {max:?}"
    );
}

#[test]
fn log_text_format_records_the_error_that_failed_create() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    std::fs::remove_dir_all(b.rootfs()).expect("remove rootfs");
    let log = b.path().join("log.txt");
    let id = unique_id("logtext");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.arg("--log")
        .arg(&log)
        .args(["--log-format", "text", "create", "--bundle"]);
    c.arg(b.path()).arg(&id);
    let out = rt.to_files(c, &b);
    assert_ne!(out.code, Some(0), "{out}");
    let text = read_text(&log);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("level=error"))
        .unwrap_or_else(|| panic!("no error line in log: {text:?}"));
    assert!(line.starts_with("time=\""), "{line}");
    assert!(line.contains("msg=\"") && line.contains("rootfs"), "{line}");
}

#[test]
fn run_forwards_signals_to_the_container_process() {
    use std::io::BufRead;
    let rt = Runtime::new();
    // Exits on SIGUSR1 only: runtimes may forward other signals too (runc
    // forwards the Go runtime's SIGURG).
    let b = Bundle::checker(&["sleep", "10"]);
    let id = unique_id("fwd");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.arg("run").arg("--bundle").arg(b.path()).arg(&id);
    let mut child = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn run");
    let stdout = child.stdout.take().expect("stdout");
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (seen, status) = std::thread::scope(|scope| {
        // A runtime that does not forward would leave us reading forever:
        // after a minute, a watchdog deletes the container to unblock us.
        let id = &id;
        let rt = &rt;
        scope.spawn(move || {
            if done_rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err()
            {
                let _ = rt.exec(&["delete", "--force", id]);
            }
        });
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(ready, "{\"ready\":true}");
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: kill on the pid of a child this test spawned and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
        let seen: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().expect("wait run");
        let _ = done_tx.send(());
        (seen, status)
    });
    assert_eq!(
        seen.last().map(String::as_str),
        Some("{\"signal\":10}"),
        "{seen:?}"
    );
    assert_eq!(status.code(), Some(128 + 10));
}

#[test]
fn update_accepts_runcs_flag_spellings() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("updflags");
    rt.create(&id, &b, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    // runc's spelling is --cpu-share (singular) and --pids-limit.
    rt.exec(&["update", "--cpu-share", "256", "--pids-limit", "77", &id])
        .ok();
    let cg = |ctrl: &str| {
        let text = read_text(std::path::Path::new(&format!("/proc/{pid}/cgroup")));
        let path = text
            .lines()
            .find_map(|l| {
                let mut p = l.splitn(3, ':');
                let (_, c, path) = (p.next()?, p.next()?, p.next()?);
                c.split(',').any(|x| x == ctrl).then(|| path.to_string())
            })
            .unwrap_or_else(|| panic!("no {ctrl} cgroup in {text}"));
        std::path::PathBuf::from(format!("/sys/fs/cgroup/{ctrl}{path}"))
    };
    assert_eq!(read_text(&cg("cpu").join("cpu.shares")).trim(), "256");
    assert_eq!(read_text(&cg("pids").join("pids.max")).trim(), "77");
}
