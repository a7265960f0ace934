//! The cgroup verbs: pause/resume (the freezer), update, ps, events --stats,
//! and kill/delete of a paused container. Enforcement is observed (a frozen
//! container's counter stops), not just the file written.

use serde_json::json;
use spec_tests::{read_text, unique_id, Bundle, Runtime};
use std::path::Path;
use std::time::{Duration, Instant};

/// A container whose shell increments /count about every 10 ms.
fn counter(rt: &Runtime) -> (String, Bundle) {
    let mut b = Bundle::with_args(&[
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /count.tmp; mv /count.tmp /count; usleep 10000; done",
    ]);
    b.writable();
    let id = unique_id("verbs");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    wait_until(|| count(&b) > 2, "the counter to run");
    (id, b)
}

fn count(b: &Bundle) -> u64 {
    std::fs::read_to_string(b.rootfs().join("count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `cond` for up to a minute (a hang guard, not a timing assertion).
fn wait_until(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (controllers, path) of each line of /proc/<pid>/cgroup.
fn cgroup_lines(pid: i64) -> Vec<(String, String)> {
    read_text(Path::new(&format!("/proc/{pid}/cgroup")))
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            p.next()?;
            Some((p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect()
}

/// The container's cgroup directory for a v1 controller (or cgroup2).
fn cgroup_dir(pid: i64, controller: &str) -> std::path::PathBuf {
    let lines = cgroup_lines(pid);
    for (ctrls, path) in &lines {
        if ctrls.split(',').any(|c| c == controller) {
            return Path::new("/sys/fs/cgroup")
                .join(controller)
                .join(path.trim_start_matches('/'));
        }
        if ctrls.is_empty() && !Path::new("/sys/fs/cgroup").join(controller).exists() {
            return Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
        }
    }
    panic!("no {controller} cgroup for {pid}: {lines:?}");
}

fn pid_of(rt: &Runtime, id: &str) -> i64 {
    rt.state(id).expect("state")["pid"].as_i64().expect("pid")
}

#[test]
fn pause_freezes_the_container_and_resume_thaws_it() {
    let rt = Runtime::new();
    let (id, b) = counter(&rt);
    rt.exec(&["pause", &id]).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("paused"));
    let frozen_at = count(&b);
    // Long enough for dozens of increments if it were running.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&b), frozen_at, "a paused container made progress");
    rt.exec(&["resume", &id]).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
    wait_until(|| count(&b) > frozen_at, "progress after resume");
}

#[test]
fn resume_of_a_running_container_fails_and_pause_of_a_stopped_one_fails() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let out = rt.exec(&["resume", &id]);
    assert_eq!(out.code, Some(1), "{out}");
    rt.exec(&["kill", &id, "KILL"]).ok();
    rt.wait_stopped(&id);
    let out = rt.exec(&["pause", &id]);
    assert_eq!(out.code, Some(1), "{out}");
}

#[test]
fn paused_container_can_be_killed_and_force_deleted() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let pid = pid_of(&rt, &id);
    rt.exec(&["pause", &id]).ok();
    rt.exec(&["delete", "--force", &id]).ok();
    assert!(rt.state(&id).is_none(), "state left after delete --force");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || {
            // A zombie awaiting its reaper is gone as a process.
            read_text(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z")
        }
    );
}

#[test]
fn update_flags_and_resources_file_reach_the_cgroup() {
    let rt = Runtime::new();
    let (id, b) = counter(&rt);
    let pid = pid_of(&rt, &id);
    rt.exec(&["update", "--memory", "96m", "--cpu-shares", "256", &id])
        .ok();
    let mem = cgroup_dir(pid, "memory");
    assert_eq!(
        read_text(&mem.join("memory.limit_in_bytes")).trim(),
        "100663296"
    );
    assert_eq!(
        read_text(&cgroup_dir(pid, "cpu").join("cpu.shares")).trim(),
        "256"
    );
    let file = b.path().join("res.json");
    std::fs::write(&file, json!({"pids": {"limit": 33}}).to_string()).expect("write");
    rt.exec(&["update", "--resources", &file.to_string_lossy(), &id])
        .ok();
    assert_eq!(
        read_text(&cgroup_dir(pid, "pids").join("pids.max")).trim(),
        "33"
    );
    // The earlier values stay.
    assert_eq!(
        read_text(&mem.join("memory.limit_in_bytes")).trim(),
        "100663296"
    );
}

#[test]
fn update_with_a_bad_value_names_it_and_changes_nothing() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let pid = pid_of(&rt, &id);
    let before = read_text(&cgroup_dir(pid, "memory").join("memory.limit_in_bytes"));
    let out = rt.exec(&["update", "--memory", "lots", &id]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("\"lots\""), "{out}");
    assert_eq!(
        read_text(&cgroup_dir(pid, "memory").join("memory.limit_in_bytes")),
        before
    );
}

#[test]
fn ps_json_lists_the_container_processes() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let pid = pid_of(&rt, &id);
    let out = rt.exec(&["ps", "--format", "json", &id]);
    out.ok();
    let pids: Vec<i64> = serde_json::from_str(out.stdout.trim()).expect("a JSON list");
    assert!(pids.contains(&pid), "{pids:?} lacks init {pid}");
    let table = rt.exec(&["ps", &id]);
    table.ok();
    assert!(
        table.stdout.lines().next().unwrap_or("").contains("PID"),
        "{table}"
    );
    assert!(table.stdout.contains(&pid.to_string()), "{table}");
}

#[test]
fn events_stats_reports_memory_pids_and_cpu() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let out = rt.exec(&["events", "--stats", &id]);
    out.ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("JSON");
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], id.as_str());
    assert!(
        v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{v}"
    );
    assert!(
        v["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );
    assert!(
        v["data"]["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );
}

#[test]
fn exec_cgroup_runs_the_process_in_a_sub_cgroup() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let pid = pid_of(&rt, &id);
    // The sub-cgroup must exist in every hierarchy (berth does not make it).
    let mut made = Vec::new();
    for (ctrls, path) in cgroup_lines(pid) {
        let mount = if ctrls.is_empty() {
            "unified".to_string()
        } else {
            ctrls.trim_start_matches("name=").to_string()
        };
        let base = Path::new("/sys/fs/cgroup").join(&mount);
        let base = if base.exists() {
            base
        } else {
            Path::new("/sys/fs/cgroup").to_path_buf()
        };
        let dir = base.join(path.trim_start_matches('/')).join("sub");
        std::fs::create_dir(&dir).expect("mkdir sub-cgroup");
        // A new v1 cpuset cgroup starts with no CPUs or memory nodes.
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = std::fs::read_to_string(dir.parent().expect("parent").join(f)) {
                std::fs::write(dir.join(f), v.trim()).expect("copy cpuset");
            }
        }
        made.push(dir);
    }
    let out = rt.exec(&["exec", "--cgroup", "sub", &id, "cat", "/proc/self/cgroup"]);
    rt.exec(&["delete", "--force", &id]).ok();
    for d in made.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
    out.ok();
    let mem = out
        .stdout
        .lines()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|x| x == "memory"))
        })
        .unwrap_or("");
    assert!(mem.ends_with("/sub"), "{out}");
}

#[test]
fn exec_cgroup_that_does_not_exist_is_refused() {
    let rt = Runtime::new();
    let (id, _b) = counter(&rt);
    let out = rt.exec(&["exec", "--cgroup", "nosuch", &id, "true"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("does not exist"), "{out}");
}
