//! One test per known container-escape attack. Each builds the hostile
//! bundle or rootfs, runs the runtime on it, and checks what an attacker
//! would have gained: the host runtime binary, a canary on the host, or a
//! host mount. A refusal to run is always an acceptable outcome.

use serde_json::json;
use spec_tests::{
    fnv1a, host_mounts_mentioning, read_text, runtime_bin, snapshot, unique_id, Bundle, Out,
    Runtime, TempDir,
};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

fn runtime_hash() -> u64 {
    fnv1a(&std::fs::read(runtime_bin()).expect("read runtime binary"))
}

/// A host directory holding a canary file, to detect writes through symlinks.
fn canary_dir() -> TempDir {
    let d = TempDir::new("canary");
    std::fs::write(d.path().join("canary"), "HOST-CANARY").expect("write canary");
    d
}

fn assert_untouched(dir: &Path, before: &[String]) {
    assert_eq!(
        snapshot(dir),
        before,
        "host directory {} changed",
        dir.display()
    );
    let mounts = host_mounts_mentioning(&dir.to_string_lossy());
    assert!(mounts.is_empty(), "host mounts appeared: {mounts:?}");
}

/// Replaces `rel` in the rootfs by a symlink to `target`.
fn plant_symlink(b: &Bundle, rel: &str, target: &str) {
    let p = b.rootfs().join(rel);
    if p.is_dir() && !p.is_symlink() {
        std::fs::remove_dir_all(&p).expect("remove dir");
    } else {
        let _ = std::fs::remove_file(&p);
    }
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir parent");
    }
    symlink(target, &p).expect("plant symlink");
}

/// Runs the bundle; returns the output if the runtime ran the process.
fn run_maybe(rt: &Runtime, tag: &str, b: &Bundle) -> Option<Out> {
    let out = rt.run(&unique_id(tag), b, &[]);
    let ran = out.stdout.lines().any(|l| l.starts_with('{'));
    if !ran {
        eprintln!(
            "{tag}: the runtime refused the bundle: {}",
            out.stderr.trim()
        );
    }
    ran.then_some(out)
}

#[test]
fn cve_2019_5736_created_init_exe_is_not_writable_from_its_pid_namespace() {
    let before = runtime_hash();
    let rt = Runtime::new();
    let victim = Bundle::checker(&["sleep"]);
    let id = unique_id("exevictim");
    rt.create(&id, &victim, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    let mut attacker = Bundle::checker(&["open-exe", "1"]);
    attacker.join_namespace("pid", &format!("/proc/{pid}/ns/pid"));
    let out = rt.run(&unique_id("exeattacker"), &attacker, &[]);
    out.ok();
    let v = out.json();
    assert_eq!(v["any_writable"], false, "{v}");
    // Pinning the host binary is the exploit's first step: once the runtime
    // exits, the pinned fd opens for writing.
    let host = std::fs::canonicalize(runtime_bin()).expect("runtime path");
    assert_ne!(
        v["probes"][1]["target"],
        host.to_string_lossy().as_ref(),
        "{v}"
    );
    assert_eq!(runtime_hash(), before, "the runtime binary changed");
}

/// A pipe whose buffer is already full: a process writing to it blocks.
fn full_pipe() -> (std::fs::File, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 returns.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 just returned these fds; each is owned once.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut wf = std::fs::File::from(w);
    let chunk = [b'x'; 4096];
    while wf.write(&chunk).is_ok() {}
    // SAFETY: clearing O_NONBLOCK on an fd we own.
    unsafe { libc::fcntl(wf.as_raw_fd(), libc::F_SETFL, 0) };
    (std::fs::File::from(r), OwnedFd::from(wf))
}

/// Waits until `pid` is gone or blocked writing to a pipe.
fn wait_blocked_on_pipe(pid: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan"));
        match wchan {
            Err(_) => return,
            Ok(w) if w.contains("pipe_write") => return,
            Ok(_) => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} never blocked"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// `/entry`: a script whose interpreter is `/proc/self/exe`, so whatever
/// runs it re-executes the binary of the process that exec'd it.
fn write_shebang_entry(b: &Bundle) {
    std::fs::write(b.rootfs().join("entry"), "#!/proc/self/exe\n").expect("write entry");
    std::fs::set_permissions(
        b.rootfs().join("entry"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod entry");
}

/// The runtime binary is unchanged and the `exe-watch` checker in `watcher`
/// could open no grabbed exe for writing: a copy of the runtime (a memfd, a
/// bind) must refuse writes too, or an attacker controls the runtime code
/// that runs next.
fn assert_watcher_saw_nothing_writable(watcher: &Bundle, before: u64) {
    let report = read_text(&watcher.stdout_path());
    let last = report.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {report:?}"));
    assert_eq!(runtime_hash(), before, "the runtime binary changed");
    assert_eq!(v["any_writable"], false, "an exe was writable: {v}");
}

#[test]
fn cve_2019_5736_shebang_proc_self_exe_entrypoint_cannot_overwrite_the_runtime() {
    let before = runtime_hash();
    let rt = Runtime::new();
    // The watcher grabs an O_PATH fd on every process's exe in the shared
    // pid namespace; after the victim exits it reopens each for writing.
    let watcher = Bundle::checker(&["exe-watch", "/stop", "/try"]);
    let wid = unique_id("exewatch");
    rt.create(&wid, &watcher, &[]).ok();
    rt.exec(&["start", &wid]).ok();
    let pid = rt.state(&wid).expect("state")["pid"].as_i64().expect("pid");
    // /entry is `#!/proc/self/exe`: the runtime's own binary becomes the
    // container process. Its stderr is a full pipe, so it blocks printing
    // its usage error and the watcher surely sees it.
    let mut entry = Bundle::with_args(&["/entry"]);
    write_shebang_entry(&entry);
    entry.join_namespace("pid", &format!("/proc/{pid}/ns/pid"));
    entry.write_config();
    let eid = unique_id("shebang");
    rt.track(&eid);
    let (pipe_read, pipe_write) = full_pipe();
    let mut c = rt.command();
    c.arg("create").arg("--bundle").arg(entry.path()).arg(&eid);
    c.stdin(Stdio::null())
        .stdout(std::fs::File::create(entry.stdout_path()).expect("stdout file"))
        .stderr(Stdio::from(pipe_write));
    let status = c.status().expect("spawn create");
    assert!(status.success(), "create failed: {status}");
    rt.exec(&["start", &eid]).ok();
    let epid = rt
        .state(&eid)
        .map(|s| s["pid"].as_i64().unwrap_or(0))
        .unwrap_or(0);
    if epid > 0 {
        wait_blocked_on_pipe(epid);
    }
    std::fs::write(watcher.rootfs().join("stop"), "").expect("stop watcher");
    spec_tests::wait_for_substring(&watcher.stdout_path(), "grab_done");
    // Let the runtime process finish (EPIPE), as the exploit waits for it.
    drop(pipe_read);
    rt.wait_stopped(&eid);
    std::fs::write(watcher.rootfs().join("try"), "").expect("release watcher");
    rt.wait_stopped(&wid);
    assert_watcher_saw_nothing_writable(&watcher, before);
}

#[test]
fn cve_2019_5736_exec_of_a_shebang_proc_self_exe_cannot_overwrite_the_runtime() {
    let before = runtime_hash();
    let rt = Runtime::new();
    // The container's init watches for processes and grabs their exe; the
    // runtime's `exec` brings a process into its pid namespace.
    let b = Bundle::checker(&["exe-watch", "/stop", "/try"]);
    write_shebang_entry(&b);
    let id = unique_id("execwatch");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    let pid_file = b.path().join("exec.pid");
    let (pipe_read, pipe_write) = full_pipe();
    let mut c = rt.command();
    c.arg("exec")
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .arg("/entry");
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(pipe_write));
    let mut child = c.spawn().expect("spawn exec");
    // The exec'd process (the runtime binary, through the shebang) blocks
    // writing its usage error to the full pipe, unless it never started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let epid = loop {
        let text = read_text(&pid_file);
        if let Ok(p) = text.trim().parse::<i64>() {
            break Some(p);
        }
        if child.try_wait().ok().flatten().is_some() {
            break None;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec never wrote its pid file"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    if let Some(p) = epid {
        wait_blocked_on_pipe(p);
    }
    std::fs::write(b.rootfs().join("stop"), "").expect("stop watcher");
    spec_tests::wait_for_substring(&b.stdout_path(), "grab_done");
    drop(pipe_read);
    let _ = child.wait();
    std::fs::write(b.rootfs().join("try"), "").expect("release watcher");
    rt.wait_stopped(&id);
    assert_watcher_saw_nothing_writable(&b, before);
}

#[test]
fn cve_2024_21626_exec_leaks_no_descriptors() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("execfds");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let r = out.json();
    assert_eq!(spec_tests::report::fds(&r), [0, 1, 2], "{}", r["fds"]);
}

#[test]
fn cve_2024_21626_no_descriptors_leak_into_the_container() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    assert_eq!(spec_tests::report::fds(&r), [0, 1, 2], "{}", r["fds"]);
}

#[test]
fn cve_2024_21626_preserve_fds_passes_exactly_the_extra_descriptors() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    let f3 = std::fs::File::create(b.path().join("extra3")).expect("extra3");
    let f4 = std::fs::File::create(b.path().join("extra4")).expect("extra4");
    let (r3, r4) = (f3.as_raw_fd(), f4.as_raw_fd());
    let id = unique_id("preserve");
    b.write_config();
    rt.track(&id);
    let mut c = rt.command();
    c.args(["run", "--preserve-fds", "2", "--bundle"])
        .arg(b.path())
        .arg(&id);
    // SAFETY: only fcntl, dup2 and close, which are async-signal-safe, run
    // between fork and exec. Moving both fds high first avoids clobbering
    // one with the other, and dup2 onto 3 and 4 clears close-on-exec.
    unsafe {
        c.pre_exec(move || {
            let a = libc::fcntl(r3, libc::F_DUPFD_CLOEXEC, 100);
            let b = libc::fcntl(r4, libc::F_DUPFD_CLOEXEC, 100);
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(a);
            libc::close(b);
            Ok(())
        });
    }
    let out = rt.capture(c);
    out.ok();
    let r = out.json();
    assert_eq!(spec_tests::report::fds(&r), [0, 1, 2, 3, 4], "{}", r["fds"]);
    let targets: Vec<String> = r["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .filter_map(|f| f["target"].as_str().map(str::to_string))
        .collect();
    assert!(
        targets[3].ends_with("/extra3") && targets[4].ends_with("/extra4"),
        "{targets:?}"
    );
}

#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_stays_inside_the_root() {
    let rt = Runtime::new();
    for n in 3..10 {
        let mut b = Bundle::checker(&["cwd-escape"]);
        b.config["process"]["cwd"] = format!("/proc/self/fd/{n}").into();
        let Some(out) = run_maybe(&rt, "cwdfd", &b) else {
            continue;
        };
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
fn cve_2021_30465_mount_destination_through_absolute_symlink_stays_in_rootfs() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    plant_symlink(&b, "evil", &canary.path().to_string_lossy());
    b.add_mount(json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"}));
    let _ = run_maybe(&rt, "absmnt", &b);
    assert_untouched(canary.path(), &before);
}

#[test]
fn cve_2021_30465_mount_destination_through_dotdot_symlink_stays_in_rootfs() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let target = format!("../../../../../../../../../..{}", canary.path().display());
    plant_symlink(&b, "evil", &target);
    b.add_mount(json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"}));
    let _ = run_maybe(&rt, "dotdotmnt", &b);
    assert_untouched(canary.path(), &before);
}

#[test]
fn etc_symlink_to_root_does_not_create_host_files() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    plant_symlink(&b, "etc", "/");
    let name = unique_id("etcescape");
    let host_path = Path::new("/").join(&name);
    assert!(!host_path.exists());
    let src = b.path().join("hosts-src");
    std::fs::write(&src, "127.0.0.1 localhost\n").expect("write");
    b.add_mount(
        json!({"destination": format!("/etc/{name}"), "type": "bind",
        "source": src, "options": ["bind", "ro"]}),
    );
    let _ = run_maybe(&rt, "etcroot", &b);
    let escaped = host_path.exists();
    let _ = std::fs::remove_file(&host_path);
    let _ = std::fs::remove_dir(&host_path);
    assert!(!escaped, "{} was created on the host", host_path.display());
}

#[test]
fn cve_2025_31133_dev_null_symlink_to_a_host_file_is_not_used() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["read", "/proc/kcore"]);
    b.writable();
    // Keep the rootfs's own /dev so the planted /dev/null is what the runtime finds.
    b.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != "/dev");
    plant_symlink(
        &b,
        "dev/null",
        &canary.path().join("canary").to_string_lossy(),
    );
    if let Some(out) = run_maybe(&rt, "devnullhost", &b) {
        assert!(
            !out.stdout.contains("HOST-CANARY"),
            "masked path shows the host file\n{out}"
        );
    }
    assert_untouched(canary.path(), &before);
}

#[test]
fn cve_2025_31133_dev_null_symlink_to_procfs_does_not_unmask() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["read", "/proc/kcore"]);
    b.writable();
    b.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != "/dev");
    plant_symlink(&b, "dev/null", "/proc/sys/kernel/core_pattern");
    let core_pattern =
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core_pattern");
    if let Some(out) = run_maybe(&rt, "devnullproc", &b) {
        let v = out.json();
        assert!(
            v["ok"] == false || v["value"] == "",
            "masked /proc/kcore is not masked (core_pattern is {core_pattern:?})\n{out}"
        );
    }
}

/// Runs a container whose `linux.<field>` names paths through a symlink to
/// a host canary directory, and proves the canary untouched.
fn paths_through_symlink_stay_inside(field: &str, paths: serde_json::Value, tag: &str) {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    plant_symlink(&b, "evil", &canary.path().to_string_lossy());
    b.config["linux"][field] = paths;
    let _ = run_maybe(&rt, tag, &b);
    assert_untouched(canary.path(), &before);
}

#[test]
fn cve_2025_52565_masked_path_through_symlink_does_not_reach_host() {
    paths_through_symlink_stay_inside(
        "maskedPaths",
        json!(["/evil/masked-file", "/evil/canary"]),
        "maskln",
    );
}

#[test]
fn readonly_path_through_symlink_does_not_reach_host() {
    paths_through_symlink_stay_inside(
        "readonlyPaths",
        json!(["/evil/ro-dir", "/evil/canary"]),
        "roln",
    );
}

#[test]
fn cve_2019_16884_proc_as_a_symlink_to_a_host_dir_is_not_followed() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    plant_symlink(&b, "proc", &canary.path().to_string_lossy());
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "80"});
    if let Some(out) = run_maybe(&rt, "procln", &b) {
        let r = out.json();
        // runc refuses ("must be mounted on ordinary directory"); mounting
        // procfs wherever the symlink leads is following it.
        let m = spec_tests::report::mount(&r, "/proc").unwrap_or_else(|| {
            panic!(
                "no mount at /proc: the symlink was followed\n{}",
                r["mounts"]
            )
        });
        assert_eq!(m["fstype"], "proc", "{m}");
    }
    assert_untouched(canary.path(), &before);
}

#[test]
fn cve_2025_52881_sysctl_is_not_written_into_a_fake_proc() {
    let fake = TempDir::new("fakeproc");
    let file = fake.path().join("sys/net/ipv4/ip_unprivileged_port_start");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, "FAKE").expect("write fake sysctl");
    let before = snapshot(fake.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    // /proc is a bind of a plain directory instead of procfs.
    b.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != "/proc");
    b.add_mount(
        json!({"destination": "/proc", "type": "bind", "source": fake.path(),
        "options": ["rbind", "rw"]}),
    );
    b.config["linux"]["maskedPaths"] = json!([]);
    b.config["linux"]["readonlyPaths"] = json!([]);
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "80"});
    let _ = run_maybe(&rt, "fakeproc", &b);
    assert_eq!(
        snapshot(fake.path()),
        before,
        "a sysctl was written into a plain file"
    );
}

#[test]
fn cve_2025_52881_sysctl_is_not_written_through_a_bind_over_proc_sys() {
    let fake = TempDir::new("fakesys");
    let file = fake.path().join("net/ipv4/ip_unprivileged_port_start");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, "FAKE").expect("write fake sysctl");
    let before = snapshot(fake.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.add_mount(
        json!({"destination": "/proc/sys", "type": "bind", "source": fake.path(),
        "options": ["rbind", "rw"]}),
    );
    b.config["linux"]["readonlyPaths"] = json!([]);
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "80"});
    let _ = run_maybe(&rt, "fakesys", &b);
    assert_eq!(
        snapshot(fake.path()),
        before,
        "a sysctl was written into a plain file"
    );
}

#[test]
fn cve_2022_29162_no_inheritable_capabilities_unless_configured() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("inhcaps");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let out = rt.exec(&["exec", &id, "/checker"]);
    out.ok();
    let r = out.json();
    assert!(
        spec_tests::report::caps(&r, "inheritable").is_empty(),
        "{}",
        r["capabilities"]
    );
    assert!(
        spec_tests::report::caps(&r, "ambient").is_empty(),
        "{}",
        r["capabilities"]
    );
}

#[test]
fn cve_2025_52565_dev_console_symlink_does_not_reach_host() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.writable();
    b.config["process"]["terminal"] = true.into();
    // The rootfs's own /dev, where /dev/console leads to a host path.
    b.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != "/dev");
    let target = canary.path().join("console-target");
    plant_symlink(&b, "dev/console", &target.to_string_lossy());
    let sock_dir = TempDir::new("cvesock");
    let sock = sock_dir.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind console socket");
    let reader = spec_tests::console::console_reader(listener);
    let id = unique_id("consolelink");
    let out = rt.create(&id, &b, &["--console-socket", &sock.to_string_lossy()]);
    if out.code == Some(0) {
        rt.exec(&["start", &id]).ok();
    } else {
        let _ = std::os::unix::net::UnixStream::connect(&sock);
    }
    let text = reader.join().expect("console reader");
    assert_untouched(canary.path(), &before);
    if let Some(line) = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.starts_with('{'))
    {
        let r: serde_json::Value = serde_json::from_str(line).expect("report");
        let c = spec_tests::report::device(&r, "/dev/console");
        assert!(
            c.is_some_and(|c| c["type"] == "c" && c["major"] == 136),
            "/dev/console is not the pty: {c:?}"
        );
    } else {
        eprintln!(
            "consolelink: the runtime refused the bundle: {}",
            out.stderr.trim()
        );
    }
}

#[test]
fn mount_destination_with_dotdot_components_stays_in_rootfs() {
    let canary = canary_dir();
    let before = snapshot(canary.path());
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let dest = format!("/../../../../../../../..{}/sub", canary.path().display());
    b.add_mount(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
    let _ = run_maybe(&rt, "dotdotdest", &b);
    assert_untouched(canary.path(), &before);
}
