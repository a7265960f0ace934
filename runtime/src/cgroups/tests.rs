//! Real cgroups on the host (root): every cgroup is made below the test
//! process's own cgroup in each hierarchy and removed by a guard.

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
    // A nested path whose leaf cannot be created: an existing file in the way.
    let mut bad = t.cg.clone();
    let last = bad.v1.last_mut().unwrap();
    let blocker = last.path.parent().unwrap().join("cgroup.procs");
    last.path = blocker.join("x");
    assert!(bad.create(None).is_err());
    for d in &t.cg.v1 {
        assert!(!d.path.exists(), "{} left behind", d.path.display());
    }
}
