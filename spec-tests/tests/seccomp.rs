//! linux.seccomp: the filter is installed and its actions apply.

use serde_json::{json, Value};
use spec_tests::{unique_id, Bundle, Runtime};

fn filter(action: &str, errno: Option<u32>) -> Value {
    let mut rule = json!({"names": ["mkdir", "mkdirat"], "action": action});
    if let Some(e) = errno {
        rule["errnoRet"] = e.into();
    }
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [rule]
    })
}

#[test]
fn seccomp_filter_is_installed() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["seccomp"] = filter("SCMP_ACT_ERRNO", None);
    let r = rt.report(&b);
    assert_eq!(r["seccomp"], 2, "Seccomp mode in /proc/self/status");
}

#[test]
fn no_seccomp_filter_without_linux_seccomp() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    assert_eq!(r["seccomp"], 0);
}

#[test]
fn seccomp_errno_action_returns_the_configured_errno() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["mkdir", "/tmp/blocked"]);
    b.config["linux"]["seccomp"] = filter("SCMP_ACT_ERRNO", Some(libc::EXDEV as u32));
    let out = rt.run(&unique_id("scerrno"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EXDEV, "{out}");
}

#[test]
fn seccomp_allows_what_no_rule_matches() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["write", "/dev/null", "x"]);
    b.config["linux"]["seccomp"] = filter("SCMP_ACT_ERRNO", Some(libc::EXDEV as u32));
    rt.run(&unique_id("scallow"), &b, &[]).ok();
}

#[test]
fn seccomp_kill_action_kills_the_process_with_sigsys() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["mkdir", "/tmp/killed"]);
    b.config["linux"]["seccomp"] = filter("SCMP_ACT_KILL_PROCESS", None);
    let out = rt.run(&unique_id("sckill"), &b, &[]);
    assert_eq!(out.code, Some(128 + libc::SIGSYS), "{out}");
}

/// A filter failing mkdir/mkdirat with EXDEV only when the mode argument is `mode`.
fn mode_filter(mode: u64) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
             "args": [{"index": 1, "value": mode, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
             "args": [{"index": 2, "value": mode, "op": "SCMP_CMP_EQ"}]}
        ]
    })
}

#[test]
fn seccomp_argument_condition_that_matches_applies_the_action() {
    let rt = Runtime::new();
    // The checker's mkdir asks for mode 0777.
    let mut b = Bundle::checker(&["mkdir", "/tmp/matched"]);
    b.config["linux"]["seccomp"] = mode_filter(0o777);
    let out = rt.run(&unique_id("scargeq"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EXDEV, "{out}");
}

#[test]
fn seccomp_argument_condition_that_does_not_match_allows_the_call() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["mkdir", "/tmp/unmatched"]);
    b.writable();
    b.config["linux"]["seccomp"] = mode_filter(0o700);
    rt.run(&unique_id("scargne"), &b, &[]).ok();
    assert!(b.rootfs().join("tmp/unmatched").is_dir());
}
