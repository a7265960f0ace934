//! hooks: prestart, createRuntime, createContainer, startContainer,
//! poststart, poststop: when they run, what they get, what their failure does.

use serde_json::{json, Value};
use spec_tests::{processes_mentioning, read_text, unique_id, Bundle, Runtime, TempDir};
use std::path::Path;

/// A hook that saves its stdin (the state) to DIR/NAME.json and appends NAME to DIR/order.
fn recording_hook(dir: &str, name: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c",
        format!("cat > {dir}/{name}.json; echo {name} >> {dir}/order")]})
}

fn order(dir: &Path) -> Vec<String> {
    read_text(&dir.join("order"))
        .lines()
        .map(str::to_string)
        .collect()
}

fn state_of(dir: &Path, name: &str) -> Value {
    let text = read_text(&dir.join(format!("{name}.json")));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} got bad state {text:?}: {e}"))
}

#[test]
fn hooks_run_at_their_lifecycle_points_with_the_state_on_stdin() {
    let rt = Runtime::new();
    let log = TempDir::new("hooklog");
    let host = log.path().to_string_lossy().into_owned();
    let mut b = Bundle::checker(&["sleep"]);
    // startContainer runs inside the container: it logs through a bind mount.
    b.add_mount(
        json!({"destination": "/hooks", "type": "bind", "source": host,
        "options": ["rbind", "rw"]}),
    );
    b.config["hooks"] = json!({
        "prestart": [recording_hook(&host, "prestart")],
        "createRuntime": [recording_hook(&host, "createRuntime")],
        "createContainer": [recording_hook(&host, "createContainer")],
        "startContainer": [recording_hook("/hooks", "startContainer")],
        "poststart": [recording_hook(&host, "poststart")],
        "poststop": [recording_hook(&host, "poststop")]
    });
    let id = unique_id("hooks");
    rt.create(&id, &b, &[]).ok();
    assert_eq!(
        order(log.path()),
        ["prestart", "createRuntime", "createContainer"]
    );
    let pid = rt.state(&id).expect("state")["pid"].clone();
    for name in ["prestart", "createRuntime", "createContainer"] {
        let st = state_of(log.path(), name);
        assert_eq!(st["id"], id.as_str(), "{name}: {st}");
        assert_eq!(st["pid"], pid, "{name}: {st}");
        let bundle = std::fs::canonicalize(b.path()).expect("canonical");
        assert_eq!(
            st["bundle"],
            bundle.to_string_lossy().as_ref(),
            "{name}: {st}"
        );
    }
    rt.start_ready(&id, &b, 1);
    // poststart runs once start has returned.
    let mut after_start = order(log.path());
    after_start.sort();
    assert_eq!(
        after_start,
        [
            "createContainer",
            "createRuntime",
            "poststart",
            "prestart",
            "startContainer"
        ]
    );
    assert_eq!(state_of(log.path(), "startContainer")["id"], id.as_str());
    rt.exec(&["kill", &id, "KILL"]).ok();
    rt.wait_stopped(&id);
    rt.exec(&["delete", &id]).ok();
    assert_eq!(
        order(log.path()).last().map(String::as_str),
        Some("poststop")
    );
    assert_eq!(state_of(log.path(), "poststop")["id"], id.as_str());
    // The state each hook sees says where in the lifecycle it runs.
    for (name, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        assert_eq!(state_of(log.path(), name)["status"], status, "{name}");
    }
}

#[test]
fn hook_args_and_env_are_passed() {
    let rt = Runtime::new();
    let log = TempDir::new("hookenv");
    let out = log.path().join("out");
    let mut b = Bundle::checker(&["exit", "0"]);
    b.config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo \"$HOOKVAR $1\" > {}", out.display()), "zero", "one"],
        "env": ["HOOKVAR=hello"]
    }]});
    rt.run(&unique_id("hookenv"), &b, &[]).ok();
    assert_eq!(read_text(&out), "hello one\n");
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["hooks"] = json!({"createRuntime": [{"path": "/bin/false", "args": ["false"]}]});
    let id = unique_id("hookfail");
    let out = rt.create(&id, &b, &[]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        rt.state(&id).is_none_or(|s| s["status"] == "stopped"),
        "container survived"
    );
    rt.exec(&["delete", "--force", &id]);
    assert!(!rt.root().join(&id).exists());
    assert!(processes_mentioning(&id).is_empty());
}

#[test]
fn hook_that_overruns_its_timeout_fails_create() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "600"],
        "timeout": 1}]});
    let id = unique_id("hooktimeout");
    let out = rt.create(&id, &b, &[]);
    assert_ne!(out.code, Some(0), "{out}");
}

#[test]
fn failing_poststop_hook_does_not_stop_delete() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["exit", "0"]);
    b.config["hooks"] = json!({"poststop": [{"path": "/bin/false", "args": ["false"]}]});
    let id = unique_id("poststopfail");
    rt.create(&id, &b, &[]).ok();
    rt.exec(&["start", &id]).ok();
    rt.wait_stopped(&id);
    let _ = rt.exec(&["delete", &id]);
    assert!(
        rt.state(&id).is_none(),
        "container still known after delete"
    );
}

/// A hook that writes the inode of its mount namespace to DIR/NAME.mnt.
fn mnt_ns_hook(dir: &str, name: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c",
        format!("readlink /proc/self/ns/mnt > {dir}/{name}.mnt")]})
}

#[test]
fn hooks_run_in_the_namespaces_the_spec_assigns() {
    let rt = Runtime::new();
    let log = TempDir::new("hookns");
    let host = log.path().to_string_lossy().into_owned();
    let mut b = Bundle::checker(&["sleep"]);
    b.add_mount(
        json!({"destination": "/hooks", "type": "bind", "source": host,
        "options": ["rbind", "rw"]}),
    );
    b.config["hooks"] = json!({
        "createRuntime": [mnt_ns_hook(&host, "createRuntime")],
        "createContainer": [mnt_ns_hook(&host, "createContainer")],
        "startContainer": [mnt_ns_hook("/hooks", "startContainer")],
        "poststart": [mnt_ns_hook(&host, "poststart")]
    });
    let id = unique_id("hookns");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    let container = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).expect("container mnt ns");
    let runtime = std::fs::read_link("/proc/self/ns/mnt").expect("own mnt ns");
    let seen = |name: &str| {
        read_text(&log.path().join(format!("{name}.mnt")))
            .trim()
            .to_string()
    };
    let (container, runtime) = (container.to_string_lossy(), runtime.to_string_lossy());
    assert_eq!(seen("createRuntime"), runtime, "createRuntime");
    assert_eq!(seen("createContainer"), container, "createContainer");
    assert_eq!(seen("startContainer"), container, "startContainer");
    assert_eq!(seen("poststart"), runtime, "poststart");
}
