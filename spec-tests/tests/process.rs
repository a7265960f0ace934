//! process.*: user, groups, umask, rlimits, capabilities, noNewPrivileges,
//! env, cwd, oomScoreAdj, scheduler, ioPriority, and linux.personality.

use serde_json::json;
use spec_tests::report::{caps, env};
use spec_tests::{Bundle, Runtime};

#[test]
fn user_uid_gid_and_additional_gids_are_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000]});
    let r = rt.report(&b);
    assert_eq!(
        (r["uid"].as_u64(), r["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(
        (r["gid"].as_u64(), r["egid"].as_u64()),
        (Some(1000), Some(1000))
    );
    let mut groups: Vec<u64> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g.as_u64())
        .collect();
    groups.sort();
    groups.dedup();
    groups.retain(|g| *g != 1000);
    assert_eq!(groups, [2000, 3000]);
}

#[test]
fn umask_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["user"]["umask"] = json!(0o077);
    let r = rt.report(&b);
    assert_eq!(r["umask"].as_u64(), Some(0o077));
}

#[test]
fn rlimits_are_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}
    ]);
    let r = rt.report(&b);
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 123, "hard": 456})
    );
    assert_eq!(
        r["rlimits"]["RLIMIT_CORE"],
        json!({"soft": 0, "hard": 4096})
    );
    assert_eq!(
        r["rlimits"]["RLIMIT_NPROC"],
        json!({"soft": 500, "hard": 600})
    );
}

#[test]
fn capabilities_are_exactly_those_configured() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    let want = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        let mut got = caps(&r, set);
        got.sort();
        let mut w: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        w.sort();
        assert_eq!(got, w, "capability set {set}");
    }
    assert!(caps(&r, "inheritable").is_empty());
    assert!(caps(&r, "ambient").is_empty());
}

#[test]
fn ambient_and_inheritable_capabilities_are_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let set = json!(["CAP_CHOWN", "CAP_NET_RAW"]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config["process"]["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set,
        "inheritable": set, "ambient": set
    });
    let r = rt.report(&b);
    for s in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        assert_eq!(caps(&r, s), ["CAP_CHOWN", "CAP_NET_RAW"], "set {s}");
    }
}

#[test]
fn no_new_privileges_is_applied_when_true() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    assert_eq!(r["no_new_privs"], true);
}

#[test]
fn no_new_privileges_is_off_when_false() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["noNewPrivileges"] = false.into();
    let r = rt.report(&b);
    assert_eq!(r["no_new_privs"], false);
}

#[test]
fn env_is_passed_as_configured() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz", "EMPTY="]);
    let r = rt.report(&b);
    assert_eq!(env(&r, "PATH"), Some("/bin"));
    assert_eq!(env(&r, "FOO"), Some("bar baz"));
    assert_eq!(env(&r, "EMPTY"), Some(""));
    assert_eq!(env(&r, "TERM"), None, "TERM was not configured");
}

#[test]
fn cwd_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["cwd"] = "/etc".into();
    let r = rt.report(&b);
    assert_eq!(r["cwd"], "/etc");
}

#[test]
fn args_are_passed_verbatim() {
    let rt = Runtime::new();
    let b = Bundle::with_args(&["/checker", "report", "two words", "", "--flag"]);
    let r = rt.report(&b);
    assert_eq!(
        r["args"],
        json!(["/checker", "report", "two words", "", "--flag"])
    );
}

#[test]
fn oom_score_adj_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["oomScoreAdj"] = json!(321);
    let r = rt.report(&b);
    assert_eq!(r["oom_score_adj"].as_i64(), Some(321));
}

#[test]
fn scheduler_policy_and_nice_are_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    let r = rt.report(&b);
    assert_eq!(
        r["scheduler"]["policy"].as_i64(),
        Some(i64::from(libc::SCHED_BATCH))
    );
    assert_eq!(r["scheduler"]["nice"].as_i64(), Some(7));
}

#[test]
fn io_priority_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    let r = rt.report(&b);
    // IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE = 2, 6)
    assert_eq!(r["ioprio"].as_i64(), Some((2 << 13) | 6));
}

#[test]
fn personality_linux32_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    let r = rt.report(&b);
    assert_eq!(r["personality"].as_i64(), Some(0x0008));
}

/// The session keyring id of the calling process (KEYCTL_GET_KEYRING_ID).
fn own_session_keyring() -> i64 {
    // SAFETY: keyctl with integer arguments only.
    unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 0) }
}

#[test]
fn container_gets_a_new_session_keyring() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    let inside = r["session_keyring"].as_i64().expect("session_keyring");
    assert!(inside > 0, "no session keyring: {inside}");
    assert_ne!(
        inside,
        own_session_keyring(),
        "the caller's keyring was shared"
    );
}

#[test]
fn no_new_keyring_keeps_the_callers_session_keyring() {
    let rt = Runtime::new();
    let b = Bundle::checker(&[]);
    let out = rt.run(&spec_tests::unique_id("keyring"), &b, &["--no-new-keyring"]);
    out.ok();
    let mine = own_session_keyring();
    assert_eq!(out.json()["session_keyring"].as_i64(), Some(mine));
}

#[test]
fn memory_policy_binds_the_process_to_its_nodes() {
    let rt = spec_tests::Runtime::new();
    let mut b = spec_tests::Bundle::with_args(&["cat", "/proc/self/numa_maps"]);
    b.config["linux"]["memoryPolicy"] = serde_json::json!({"mode": "MPOL_BIND", "nodes": "0"});
    let out = rt.run(&spec_tests::unique_id("mempol"), &b, &[]);
    out.ok();
    assert!(
        out.stdout.lines().any(|l| l.contains("bind:0")),
        "no mapping is bound to node 0:\n{out}"
    );
}

#[test]
fn memory_policy_that_needs_nodes_is_refused() {
    let rt = spec_tests::Runtime::new();
    let mut b = spec_tests::Bundle::with_args(&["true"]);
    b.config["linux"]["memoryPolicy"] = serde_json::json!({"mode": "MPOL_INTERLEAVE"});
    let out = rt.run(&spec_tests::unique_id("mempolbad"), &b, &[]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("linux.memoryPolicy"), "{out}");
}
