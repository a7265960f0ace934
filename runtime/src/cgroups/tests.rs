//! Real cgroups on the host (root): every cgroup is made below the test
//! process's own cgroup in each hierarchy and removed by a guard.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A cgroup below the test's own, destroyed (with its processes) on drop.
pub(crate) struct TestCgroup {
    pub cg: Cgroup,
    pub children: Vec<Child>,
}

impl TestCgroup {
    pub fn new(name: &str) -> TestCgroup {
        static N: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "berth-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let cg = Cgroup::resolve(Some(&unique), name).expect("resolve");
        TestCgroup {
            cg,
            children: Vec::new(),
        }
    }

    /// Spawns `argv` and moves it into the cgroup.
    pub fn spawn(&mut self, argv: &[&str]) -> i32 {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let pid = child.id() as i32;
        self.children.push(child);
        self.cg.add_process(pid).expect("add_process");
        pid
    }

    /// Spawns `argv` already inside the cgroup (it moves itself before
    /// exec, so even its first fork lands inside).
    pub fn spawn_inside(&mut self, argv: &[&str], stdout: Stdio) -> &mut Child {
        let procs: Vec<CString> = self
            .cg
            .dirs()
            .map(|d| CString::new(d.join("cgroup.procs").as_os_str().as_bytes()).unwrap())
            .collect();
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        // SAFETY: the closure only calls open/write/close, which are
        // async-signal-safe, on paths prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for p in &procs {
                    let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                Ok(())
            })
        };
        self.children
            .push(cmd.spawn().expect("spawn inside the cgroup"));
        self.children.last_mut().unwrap()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Thaw first: a frozen process cannot die.
        for dir in self.cg.dirs() {
            let _ = fs::write(dir, "freezer.state", "THAWED");
            let _ = fs::write(dir, "cgroup.freeze", "0");
        }
        for pid in self.cg.pids().unwrap_or_default() {
            // SAFETY: kill(2) with a pid read from the test's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Err(e) = self.cg.destroy() {
            eprintln!("test cgroup cleanup: {e}");
        }
    }
}

fn own_cgroups() -> path::OwnCgroups {
    path::OwnCgroups::parse(&std::fs::read_to_string("/proc/self/cgroup").unwrap())
}

#[test]
fn resolve_places_relative_paths_below_each_own_cgroup() {
    let cg = Cgroup::resolve(None, "c1").unwrap();
    let own = own_cgroups();
    for d in &cg.v1 {
        let own_path = own
            .for_v1(&d.controllers)
            .unwrap_or("/")
            .trim_end_matches('/')
            .to_string();
        assert!(
            d.path
                .to_string_lossy()
                .ends_with(&format!("{own_path}/berth/c1")),
            "{d:?} own {own_path}"
        );
    }
    let hierarchies = detect::Hierarchies::from_host().unwrap();
    assert_eq!(cg.mode, hierarchies.mode());
    assert_eq!(cg.v1.len(), hierarchies.v1.len());
}

#[test]
fn create_add_process_pids_and_destroy_in_every_hierarchy() {
    let mut t = TestCgroup::new("life");
    t.cg.create(None).unwrap();
    for dir in t.cg.dirs() {
        assert!(
            dir.join("cgroup.procs").exists(),
            "{} missing",
            dir.display()
        );
    }
    let pid = t.spawn(&["/bin/sleep", "100"]);
    assert_eq!(t.cg.pids().unwrap(), vec![pid]);
    // The process's own view agrees, hierarchy by hierarchy.
    let seen = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let seen = path::OwnCgroups::parse(&seen);
    for d in &t.cg.v1 {
        let p = seen.for_v1(&d.controllers).unwrap();
        assert!(d.path.to_string_lossy().ends_with(p), "{d:?} vs {p}");
    }
    // Busy while the process runs; removed once it is gone.
    assert!(t.cg.destroy().is_err());
    for c in &mut t.children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    t.cg.destroy().unwrap();
    for dir in t.cg.dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    // Destroying again is fine (delete --force after delete).
    t.cg.destroy().unwrap();
}

#[test]
fn destroy_waits_for_processes_that_are_exiting() {
    let mut t = TestCgroup::new("exiting");
    t.cg.create(None).unwrap();
    let pid = t.spawn(&["/bin/sleep", "100"]);
    // Only exiting processes are waited for: a live one is an error.
    let err = t.cg.destroy().unwrap_err();
    assert!(err.0.contains("running processes"), "{err}");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Killed but not reaped: a zombie (or already gone from the cgroup).
    t.cg.destroy().unwrap();
}

#[test]
fn new_v1_cpuset_cgroups_inherit_cpus_and_mems() {
    let mut t = TestCgroup::new("cpuset");
    let Some(dir) = t.cg.v1_dir("cpuset").map(Path::to_path_buf) else {
        return; // no v1 cpuset hierarchy on this host
    };
    t.cg.create(None).unwrap();
    let parent = dir.parent().unwrap();
    assert_eq!(
        fs::read(&dir, "cpuset.cpus").unwrap(),
        fs::read(parent, "cpuset.cpus").unwrap()
    );
    assert_eq!(
        fs::read(&dir, "cpuset.mems").unwrap(),
        fs::read(parent, "cpuset.mems").unwrap()
    );
    t.spawn(&["/bin/sleep", "100"]);
}

#[test]
fn failed_create_leaves_nothing_behind() {
    let t = TestCgroup::new("fail");
    // The last directory cannot be created: an existing file is in the way.
    let mut bad = t.cg.clone();
    let last = match bad.unified.as_mut() {
        Some(u) => &mut u.path,
        None => &mut bad.v1.last_mut().unwrap().path,
    };
    *last = last.parent().unwrap().join("cgroup.procs").join("x");
    assert!(bad.create(None).is_err());
    for dir in t.cg.dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("resources JSON")
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    use std::io::Read;
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn memory_hog_is_oom_killed_at_the_limit() {
    let mut t = TestCgroup::new("oom");
    let limit = 32 << 20;
    t.cg.create(Some(&resources(&format!(
        r#"{{"memory": {{"limit": {limit}, "swap": {limit}}}}}"#
    ))))
    .unwrap();
    let mut watch = t.cg.oom_watch().unwrap();
    // `tail` must hold the whole newline-free 256 MiB "line" in memory.
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "head -c 268435456 /dev/zero | tail -n 1 >/dev/null",
        ],
        Stdio::null(),
    );
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the hog finished under a {limit}-byte limit"
    );
    assert!(watch.wait().unwrap() >= 1);
    assert!(t.cg.oom_kills().unwrap() >= 1);
    let stats = t.cg.stats().unwrap();
    assert_eq!(stats["memory"]["usage"]["limit"], limit);
    // Usage peaked at the limit, never above it.
    assert_eq!(stats["memory"]["usage"]["max"], limit, "{stats}");
}

#[test]
fn fork_loop_stops_at_pids_max() {
    let mut t = TestCgroup::new("pids");
    t.cg.create(Some(&resources(r#"{"pids": {"limit": 5}}"#)))
        .unwrap();
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 100 >/dev/null 2>&1 & done",
        ],
        Stdio::null(),
    );
    let err = stderr_of(child);
    child.wait().unwrap();
    // Five tasks at most: the shell and four sleeps; the shell is gone now
    // and the other six forks failed.
    assert_eq!(t.cg.pids().unwrap().len(), 4, "stderr: {err}");
    assert!(err.to_lowercase().contains("fork"), "{err}");
    let stats = t.cg.stats().unwrap();
    assert_eq!(stats["pids"], serde_json::json!({"current": 4, "limit": 5}));
    t.cg.kill_all(libc::SIGKILL).unwrap();
    t.children[0].wait().unwrap();
}

#[test]
fn frozen_process_makes_no_progress_until_thawed() {
    let mut t = TestCgroup::new("freeze");
    t.cg.create(None).unwrap();
    let dir = tempdir("freeze");
    let file = dir.join("ticks");
    let script = format!("while :; do echo x >> {}; sleep 0.01; done", file.display());
    t.spawn_inside(&["/bin/sh", "-c", &script], Stdio::null());
    let len = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let grows = |from: u64| {
        for _ in 0..1000 {
            if len() > from {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    };
    assert!(grows(0), "the ticker never started");
    t.cg.freeze().unwrap();
    assert!(t.cg.is_frozen().unwrap());
    let frozen_at = len();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(len(), frozen_at, "a frozen process wrote");
    t.cg.thaw().unwrap();
    assert!(!t.cg.is_frozen().unwrap());
    assert!(grows(frozen_at), "no progress after thaw");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("berth-cg-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const DENY_ALL: &str = r#"{"devices": [{"allow": false, "access": "rwm"}]}"#;

#[test]
fn denied_device_cannot_be_opened() {
    let mut t = TestCgroup::new("devices");
    t.cg.create(Some(&resources(DENY_ALL))).unwrap();
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "true </dev/kmsg && echo kmsg; true </dev/zero && echo zero",
        ],
        Stdio::piped(),
    );
    let err = stderr_of(child);
    let out = child.wait_with_output_lossy();
    assert_eq!(out, "zero\n", "stderr: {err}");
    assert!(err.contains("Operation not permitted"), "{err}");
}

/// Reads what is left of stdout and reaps.
trait WaitLossy {
    fn wait_with_output_lossy(&mut self) -> String;
}

impl WaitLossy for Child {
    fn wait_with_output_lossy(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut o) = self.stdout.take() {
            o.read_to_string(&mut s).unwrap();
        }
        self.wait().unwrap();
        s
    }
}

#[test]
fn device_ebpf_program_on_cgroup2_denies_devices() {
    // On any host with cgroup2 the kernel runs device programs attached
    // there, so the v2 path is proven on the hybrid host too.
    let mut t = TestCgroup::new("bpf");
    t.cg.create(None).unwrap();
    let Some(u) = t.cg.unified.clone() else {
        return;
    };
    let list = resources(DENY_ALL).devices().clone().unwrap();
    let rules = devices::effective_rules(&list).unwrap();
    devices::bpf::replace(&u.path, &devices::program::compile(&rules)).unwrap();
    // Replacing keeps exactly one program.
    devices::bpf::replace(&u.path, &devices::program::compile(&rules)).unwrap();
    assert_eq!(devices::bpf::attached_count(&u.path).unwrap(), 1);
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "true </dev/kmsg && echo kmsg; true </dev/null && echo null",
        ],
        Stdio::piped(),
    );
    let err = stderr_of(child);
    assert_eq!(child.wait_with_output_lossy(), "null\n", "stderr: {err}");
}

#[test]
fn v1_settings_are_written_and_update_changes_them() {
    let mut t = TestCgroup::new("update");
    t.cg.create(Some(&resources(
        r#"{"cpu": {"shares": 512, "quota": 50000, "period": 100000}, "memory": {"limit": 67108864, "reservation": 33554432}}"#,
    )))
    .unwrap();
    let Some(cpu) = t.cg.v1_dir("cpu").map(Path::to_path_buf) else {
        return;
    };
    assert_eq!(fs::read(&cpu, "cpu.shares").unwrap().trim(), "512");
    assert_eq!(fs::read(&cpu, "cpu.cfs_quota_us").unwrap().trim(), "50000");
    t.spawn(&["/bin/sleep", "100"]);
    t.cg.update(&resources(
        r#"{"cpu": {"quota": 20000}, "memory": {"limit": 134217728, "swap": 134217728}}"#,
    ))
    .unwrap();
    assert_eq!(fs::read(&cpu, "cpu.cfs_quota_us").unwrap().trim(), "20000");
    let mem = t.cg.v1_dir("memory").unwrap();
    assert_eq!(
        fs::read(mem, "memory.limit_in_bytes").unwrap().trim(),
        "134217728"
    );
    t.cg.update(&resources(
        r#"{"memory": {"limit": 16777216, "swap": 16777216}}"#,
    ))
    .unwrap();
    assert_eq!(
        fs::read(mem, "memory.memsw.limit_in_bytes").unwrap().trim(),
        "16777216"
    );
    // Raising the limit above the current memory+swap limit needs the
    // memsw write first; the kernel refuses the other order.
    t.cg.update(&resources(
        r#"{"memory": {"limit": 33554432, "swap": 33554432}}"#,
    ))
    .unwrap();
    assert_eq!(
        fs::read(mem, "memory.limit_in_bytes").unwrap().trim(),
        "33554432"
    );
    assert_eq!(
        fs::read(mem, "memory.memsw.limit_in_bytes").unwrap().trim(),
        "33554432"
    );
    let stats = t.cg.stats().unwrap();
    assert!(stats["cpu"]["usage"]["total"].is_u64(), "{stats}");
    assert_eq!(stats["memory"]["usage"]["limit"], 33554432);
}

#[test]
fn check_before_update_refuses_a_limit_below_usage() {
    let mut t = TestCgroup::new("check");
    t.cg.create(None).unwrap();
    if t.cg.v1_dir("memory").is_none() {
        return;
    }
    // Started inside, so its pages are charged to the cgroup.
    t.spawn_inside(&["/bin/sleep", "100"], Stdio::null());
    let e =
        t.cg.update(&resources(
            r#"{"memory": {"limit": 4096, "checkBeforeUpdate": true}}"#,
        ))
        .unwrap_err();
    assert!(
        e.0.contains("linux.resources.memory.limit 4096 is below the current usage"),
        "{e}"
    );
}

#[test]
fn settings_the_host_cannot_take_fail_naming_the_field_and_leave_nothing() {
    let hierarchies = detect::Hierarchies::from_host().unwrap();
    if hierarchies.mode() != Mode::Hybrid {
        return; // the facts below are this hybrid host's
    }
    let cases = [
        (
            r#"{"network": {"classID": 1048577}}"#,
            "linux.resources.network.classID: the host has no net_cls cgroup controller",
        ),
        (
            r#"{"blockIO": {"weight": 500}}"#,
            "linux.resources.blockIO.weight: writing \"500\"",
        ),
        (
            r#"{"cpu": {"shares": 1}}"#,
            "linux.resources.cpu.shares 1 is out of range",
        ),
        (
            r#"{"memory": {"swappiness": 200}}"#,
            "linux.resources.memory.swappiness 200 is out of range",
        ),
        (
            r#"{"hugepageLimits": [{"pageSize": "3MB", "limit": 0}]}"#,
            "linux.resources.hugepageLimits[0].limit",
        ),
        (
            r#"{"unified": {"memory.max": "1"}}"#,
            "linux.resources.unified[\"memory.max\"]",
        ),
    ];
    for (json, want) in cases {
        let t = TestCgroup::new("refuse");
        let e = t.cg.create(Some(&resources(json))).unwrap_err();
        assert!(e.0.starts_with(want), "{json}: {e}");
        for dir in t.cg.dirs() {
            assert!(!dir.exists(), "{json}: {} left behind", dir.display());
        }
    }
}

#[test]
fn hugetlb_limit_lands_in_cgroup2_on_a_hybrid_host() {
    let mut t = TestCgroup::new("hugetlb");
    let hierarchies = detect::Hierarchies::from_host().unwrap();
    let in_unified = hierarchies.unified.as_ref().is_some_and(|m| {
        fs::read(&m.mountpoint, "cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "hugetlb"))
    });
    if hierarchies.mode() != Mode::Hybrid || !in_unified {
        return;
    }
    t.cg.create(Some(&resources(
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#,
    )))
    .unwrap();
    let u = t.cg.unified.clone().unwrap();
    assert_eq!(
        fs::read(&u.path, "hugetlb.2MB.max").unwrap().trim(),
        "4194304"
    );
    assert!(t.cg.stats().unwrap()["hugetlb"]["2MB"].is_object());
    t.spawn(&["/bin/sleep", "100"]);
}

#[test]
fn kill_all_reaches_every_process_in_the_cgroup() {
    let mut t = TestCgroup::new("killall");
    t.cg.create(None).unwrap();
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "sleep 100 & sleep 100 & echo started; wait",
        ],
        Stdio::piped(),
    );
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(t.cg.pids().unwrap().len(), 3);
    t.cg.kill_all(libc::SIGTERM).unwrap();
    t.children[0].wait().unwrap();
    // The orphaned sleeps are reaped by init; wait for the cgroup to empty.
    let mut left = t.cg.pids().unwrap();
    for _ in 0..2000 {
        if left
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists() || is_zombie(*p))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        left = t.cg.pids().unwrap();
    }
    assert!(
        left.iter()
            .all(|p| is_zombie(*p) || !Path::new(&format!("/proc/{p}")).exists()),
        "{left:?}"
    );
    t.cg.destroy().unwrap();
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

#[test]
fn destroy_right_after_kill_all_succeeds_with_orphans_unreaped() {
    let mut t = TestCgroup::new("forcedelete");
    t.cg.create(None).unwrap();
    // The shell exits at once, leaving orphaned sleeps for init to reap.
    let child = t.spawn_inside(
        &[
            "/bin/sh",
            "-c",
            "sleep 100 >/dev/null 2>&1 & sleep 100 >/dev/null 2>&1 & echo started",
        ],
        Stdio::piped(),
    );
    let out = child.wait_with_output_lossy();
    assert_eq!(out, "started\n");
    assert_eq!(t.cg.pids().unwrap().len(), 2);
    t.cg.kill_all(libc::SIGKILL).unwrap();
    t.cg.destroy().unwrap();
    for dir in t.cg.dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

fn unified_only() -> bool {
    detect::Hierarchies::from_host().unwrap().mode() == Mode::Unified
}

#[test]
fn v2_settings_are_written_and_update_changes_them() {
    if !unified_only() {
        return; // runs in the cgroup v2 VM (hack/cgroup2-vm.sh)
    }
    let mut t = TestCgroup::new("v2update");
    t.cg.create(Some(&resources(
        r#"{"cpu": {"shares": 1024, "quota": 50000, "period": 100000}, "memory": {"limit": 67108864},
            "pids": {"limit": 20}, "unified": {"memory.high": "50331648"}}"#,
    )))
    .unwrap();
    let dir = t.cg.unified.clone().unwrap().path;
    let read = |f: &str| fs::read(&dir, f).unwrap().trim().to_string();
    assert_eq!(read("cpu.weight"), "39");
    assert_eq!(read("cpu.max"), "50000 100000");
    assert_eq!(read("memory.max"), "67108864");
    assert_eq!(read("memory.high"), "50331648");
    assert_eq!(read("pids.max"), "20");
    t.spawn(&["/bin/sleep", "100"]);
    t.cg.update(&resources(
        r#"{"cpu": {"quota": -1}, "pids": {"limit": 0}}"#,
    ))
    .unwrap();
    assert_eq!(read("cpu.max"), "max 100000");
    assert_eq!(read("pids.max"), "max");
    let stats = t.cg.stats().unwrap();
    assert_eq!(stats["memory"]["usage"]["limit"], 67108864);
    assert_eq!(stats["pids"]["current"], 1);
}

#[test]
fn v2_refuses_v1_only_settings_naming_the_field() {
    if !unified_only() {
        return; // runs in the cgroup v2 VM (hack/cgroup2-vm.sh)
    }
    for (json, want) in [
        (
            r#"{"memory": {"limit": 67108864, "kernel": 1048576}}"#,
            "linux.resources.memory.kernel: cgroup v2 has no",
        ),
        (
            r#"{"network": {"classID": 1}}"#,
            "linux.resources.network.classID: cgroup v2 has no net_cls",
        ),
        (
            r#"{"blockIO": {"leafWeight": 100}}"#,
            "linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight",
        ),
    ] {
        let t = TestCgroup::new("v2refuse");
        let e = t.cg.create(Some(&resources(json))).unwrap_err();
        assert!(e.0.starts_with(want), "{json}: {e}");
        for dir in t.cg.dirs() {
            assert!(!dir.exists(), "{json}: {} left behind", dir.display());
        }
    }
}

#[test]
fn kill_all_sigkill_ends_a_paused_container_and_sigterm_keeps_it_paused() {
    let mut t = TestCgroup::new("pausedkill");
    t.cg.create(None).unwrap();
    t.spawn_inside(&["/bin/sleep", "100"], Stdio::null());
    t.cg.freeze().unwrap();
    t.cg.kill_all(libc::SIGTERM).unwrap();
    assert!(
        t.cg.is_frozen().unwrap(),
        "a signal must not resume a paused container"
    );
    t.cg.kill_all(libc::SIGKILL).unwrap();
    let status = t.children[0].wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    // SIGTERM was pending while frozen; either signal may be the one that ends it.
    assert!(
        matches!(status.signal(), Some(libc::SIGKILL) | Some(libc::SIGTERM)),
        "{status:?}"
    );
    t.cg.destroy().unwrap();
}

/// `major:minor` of a whole block device the host has, if any.
fn some_block_device() -> Option<String> {
    let mut names: Vec<_> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    names
        .iter()
        .find_map(|p| std::fs::read_to_string(p.join("dev")).ok())
        .map(|d| d.trim().to_string())
}

#[test]
fn block_io_throttle_is_set_for_the_device() {
    let Some(dev) = some_block_device() else {
        return;
    };
    let (major, minor) = dev.split_once(':').unwrap();
    let mut t = TestCgroup::new("blkio");
    t.cg.create(Some(&resources(&format!(
        r#"{{"blockIO": {{"throttleReadBpsDevice": [{{"major": {major}, "minor": {minor}, "rate": 1048576}}]}}}}"#
    ))))
    .unwrap();
    let (dir, file, want) = match t.cg.v1_dir("blkio") {
        Some(d) => (
            d.to_path_buf(),
            "blkio.throttle.read_bps_device",
            format!("{dev} 1048576"),
        ),
        None => (
            t.cg.unified.clone().unwrap().path,
            "io.max",
            format!("{dev} rbps=1048576"),
        ),
    };
    let text = fs::read(&dir, file).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with(&want)),
        "{file}: {text:?}"
    );
    t.spawn(&["/bin/sleep", "100"]);
}
