//! The OCI lifecycle: create, start, state, kill, delete, run.

use spec_tests::{read_text, unique_id, Bundle, Runtime};

#[test]
fn run_exits_with_the_process_exit_status() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "7"]);
    let out = rt.run(&unique_id("exit"), &b, &[]);
    assert_eq!(out.code, Some(7), "{out}");
}

#[test]
fn run_prints_the_process_stdout() {
    let rt = Runtime::new();
    let b = Bundle::with_args(&["/bin/echo", "hello from the container"]);
    let out = rt.run(&unique_id("echo"), &b, &[]);
    out.ok();
    assert_eq!(out.stdout, "hello from the container\n", "{out}");
}

#[test]
fn run_deletes_the_container_afterwards() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("rundel");
    rt.run(&id, &b, &[]).ok();
    assert!(rt.state(&id).is_none(), "state still known after run");
    assert!(!rt.root().join(&id).exists(), "state dir left behind");
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "3"]);
    let id = unique_id("keep");
    let out = rt.run(&id, &b, &["--keep"]);
    assert_eq!(out.code, Some(3), "{out}");
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
    rt.exec(&["delete", &id]).ok();
    assert!(rt.state(&id).is_none());
}

#[test]
fn create_leaves_a_created_container_with_oci_state() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("created");
    rt.create(&id, &b, &[]).ok();
    let st = rt.state(&id).expect("state after create");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["status"], "created");
    assert!(st["pid"].as_i64().unwrap_or(0) > 0, "pid in {st}");
    assert!(st["ociVersion"].is_string(), "ociVersion in {st}");
    let bundle = std::fs::canonicalize(b.path()).expect("canonical bundle");
    assert_eq!(st["bundle"], bundle.to_string_lossy().as_ref(), "{st}");
}

#[test]
fn created_process_has_not_run_the_user_program_yet() {
    let mut b = Bundle::with_args(&["/bin/touch", "/ran"]);
    b.writable();
    let rt = Runtime::new();
    let id = unique_id("notyet");
    rt.create(&id, &b, &[]).ok();
    assert!(!b.rootfs().join("ran").exists(), "program ran before start");
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    assert!(
        b.rootfs().join("ran").exists(),
        "program did not run after start"
    );
}

#[test]
fn start_runs_the_process_and_state_says_running() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("running");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
}

#[test]
fn start_of_a_running_container_fails() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("start2");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let out = rt.exec(&["start", &id]);
    assert_ne!(out.code, Some(0), "{out}");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
}

#[test]
fn kill_delivers_sigterm_by_default_and_the_container_stops() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("term");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    rt.exec(&["kill", &id]).ok();
    rt.wait_stopped(&id);
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
    let printed = read_text(&b.stdout_path());
    assert!(
        printed.contains("{\"signal\":15}"),
        "container saw: {printed:?}"
    );
}

#[test]
fn stopped_container_is_reported_stopped_without_waiting_for_a_reaper() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("zombie");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    rt.exec(&["delete", &id]).ok();
    assert!(rt.state(&id).is_none());
}

#[test]
fn delete_of_a_running_container_fails_without_force() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("delrun");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let out = rt.exec(&["delete", &id]);
    assert_ne!(out.code, Some(0), "{out}");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
}

#[test]
fn delete_force_kills_a_running_container_and_removes_its_state() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("delforce");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    rt.exec(&["delete", "--force", &id]).ok();
    assert!(rt.state(&id).is_none());
    assert!(!rt.root().join(&id).exists(), "state dir left behind");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Gone, or at most a zombie waiting for its reaper.
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "init still alive: {stat}"
    );
}

#[test]
fn delete_of_a_created_container_removes_it_and_its_process() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("delcreated");
    rt.create(&id, &b, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    rt.exec(&["delete", "--force", &id]).ok();
    assert!(rt.state(&id).is_none());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "init still alive: {stat}"
    );
}

#[test]
fn pid_file_holds_the_container_init_pid() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("pidfile");
    let pid_file = b.path().join("init.pid");
    rt.create(&id, &b, &["--pid-file", &pid_file.to_string_lossy()])
        .ok();
    let st = rt.state(&id).expect("state");
    let written = read_text(&pid_file);
    assert_eq!(
        written.trim(),
        st["pid"].to_string(),
        "pid file {written:?} vs {st}"
    );
}

#[test]
fn run_detach_returns_while_the_container_runs() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("detach");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.args(["run", "--detach", "--bundle"])
        .arg(b.path())
        .arg(&id);
    rt.to_files(c, &b).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
}

#[test]
fn annotations_appear_in_state() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["annotations"] = serde_json::json!({"org.example.key": "value-1"});
    let id = unique_id("annot");
    rt.create(&id, &b, &[]).ok();
    let st = rt.state(&id).expect("state");
    assert_eq!(st["annotations"]["org.example.key"], "value-1", "{st}");
}

#[test]
fn state_of_an_unknown_container_fails() {
    let rt = Runtime::new();
    let out = rt.exec(&["state", &unique_id("nosuch")]);
    assert_ne!(out.code, Some(0), "{out}");
}

#[test]
fn kill_of_a_created_container_stops_it() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("killcreated");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["kill", &id, "KILL"]).ok();
    rt.wait_stopped(&id);
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
    rt.exec(&["delete", &id]).ok();
}

#[test]
fn kill_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("killstopped");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    let out = rt.exec(&["kill", &id, "KILL"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
}

#[test]
fn start_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("startstopped");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    let out = rt.exec(&["start", &id]);
    assert_ne!(out.code, Some(0), "{out}");
}

#[test]
fn concurrent_force_deletes_of_one_container_leave_nothing() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("racedel");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = rt.command();
            c.args(["delete", "--force", &id])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            c.spawn().expect("spawn delete")
        })
        .collect();
    let codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|mut c| c.wait().expect("wait delete").code())
        .collect();
    assert!(codes.contains(&Some(0)), "no delete succeeded: {codes:?}");
    assert!(
        codes.iter().all(|c| c.is_some()),
        "a delete crashed: {codes:?}"
    );
    assert!(rt.state(&id).is_none());
    assert!(!rt.root().join(&id).exists(), "state dir left behind");
}

#[test]
fn init_killed_behind_the_runtimes_back_is_reported_stopped() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("hostkill");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    // SAFETY: kill on the init of a container this test created.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    rt.wait_stopped(&id);
    rt.exec(&["delete", &id]).ok();
    assert!(rt.state(&id).is_none());
}

#[test]
fn delete_right_after_the_process_closes_stdout_succeeds() {
    use std::io::Read;
    let rt = Runtime::new();
    let b = Bundle::checker(&["exit", "0"]);
    let id = unique_id("eofdelete");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.arg("create").arg("--bundle").arg(b.path()).arg(&id);
    let mut child = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn create");
    let mut stdout = child.stdout.take().expect("stdout");
    assert!(
        child.wait().expect("wait create").success(),
        "create failed"
    );
    rt.exec(&["start", &id]).ok();
    // EOF: the container process has exited (or is exiting) now.
    let mut sink = Vec::new();
    stdout
        .read_to_end(&mut sink)
        .expect("read container stdout");
    let out = rt.exec(&["delete", &id]);
    assert_eq!(out.code, Some(0), "delete right after EOF\n{out}");
    assert!(rt.state(&id).is_none());
}
