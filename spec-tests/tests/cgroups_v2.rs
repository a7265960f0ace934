//! berth end to end on a pure cgroup v2 host. This machine is hybrid, so
//! `hack/test.sh` runs this file inside the VM of `hack/cgroup2-vm.sh`
//! (booted with `cgroup_no_v1=all`); on a host that is not pure v2 the test
//! says so and returns.

use serde_json::json;
use spec_tests::{read_text, unique_id, Bundle, Runtime};
use std::path::{Path, PathBuf};

fn pure_v2() -> bool {
    // SAFETY: statfs fills the struct for a NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) };
    r == 0 && st.f_type == libc::CGROUP2_SUPER_MAGIC
}

/// The cgroup v2 directory of `pid`.
fn v2_dir(pid: i64) -> PathBuf {
    let text = read_text(Path::new(&format!("/proc/{pid}/cgroup")));
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no cgroup v2 line: {text}"));
    Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'))
}

#[test]
fn v2_container_is_placed_limited_frozen_updated_and_removed() {
    if !pure_v2() {
        eprintln!("not a pure cgroup v2 host: hack/cgroup2-vm.sh runs this test");
        return;
    }
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["linux"]["resources"] = json!({
        "memory": {"limit": 67108864},
        "pids": {"limit": 50},
        "cpu": {"shares": 512}
    });
    let id = unique_id("v2");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    let dir = v2_dir(pid);
    assert!(dir.ends_with(format!("berth/{id}")), "{}", dir.display());
    assert_eq!(read_text(&dir.join("memory.max")).trim(), "67108864");
    assert_eq!(read_text(&dir.join("pids.max")).trim(), "50");
    // runc's and crun's conversion: 1 + ((512 - 2) * 9999) / 262142.
    assert_eq!(read_text(&dir.join("cpu.weight")).trim(), "20");
    rt.exec(&["pause", &id]).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("paused"));
    assert!(read_text(&dir.join("cgroup.events")).contains("frozen 1"));
    rt.exec(&["resume", &id]).ok();
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
    rt.exec(&["update", "--memory", "32m", &id]).ok();
    assert_eq!(read_text(&dir.join("memory.max")).trim(), "33554432");
    rt.exec(&["delete", "--force", &id]).ok();
    assert!(!dir.exists(), "cgroup left: {}", dir.display());
}
