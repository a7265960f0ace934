//! Default devices, linux.devices, and the device cgroup.

use serde_json::json;
use spec_tests::report::device;
use spec_tests::{unique_id, Bundle, Runtime};

#[test]
fn default_devices_exist_with_their_numbers() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    for (path, major, minor) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        let d = device(&r, path).unwrap_or_else(|| panic!("{path} missing: {}", r["devices"]));
        assert_eq!(d["type"], "c", "{path}");
        assert_eq!(
            (d["major"].as_u64(), d["minor"].as_u64()),
            (Some(major), Some(minor)),
            "{path}"
        );
        assert_eq!(d["mode"].as_u64(), Some(0o666), "{path} mode");
    }
}

#[test]
fn default_dev_symlinks_exist() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    for (path, target) in [
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let d = device(&r, path).unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(d["type"], "l", "{path}");
        assert_eq!(d["target"], target, "{path}");
    }
}

#[test]
fn configured_device_is_created_with_its_mode_and_owner() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["devices"] = json!([{"path": "/dev/mydev", "type": "c",
        "major": 1, "minor": 7, "fileMode": 0o640, "uid": 1000, "gid": 2000}]);
    let r = rt.report(&b);
    let d = device(&r, "/dev/mydev").expect("/dev/mydev");
    assert_eq!(d["type"], "c");
    assert_eq!(
        (d["major"].as_u64(), d["minor"].as_u64()),
        (Some(1), Some(7))
    );
    assert_eq!(d["mode"].as_u64(), Some(0o640));
    assert_eq!(
        (d["uid"].as_u64(), d["gid"].as_u64()),
        (Some(1000), Some(2000))
    );
}

#[test]
fn default_devices_are_usable() {
    let rt = Runtime::new();
    let out = rt.run(
        &unique_id("devnull"),
        &Bundle::checker(&["write", "/dev/null", "x"]),
        &[],
    );
    out.ok();
    let out = rt.run(
        &unique_id("devfull"),
        &Bundle::checker(&["write", "/dev/full", "x"]),
        &[],
    );
    assert_eq!(out.json()["errno"], libc::ENOSPC, "{out}");
}

#[test]
fn device_cgroup_denies_devices_not_allowed() {
    let rt = Runtime::new();
    // A node for /dev/kmsg (1:11) made by the runtime but not allowed in the cgroup.
    let mut b = Bundle::checker(&["read", "/dev/kmsg-probe"]);
    b.config["linux"]["devices"] = json!([{"path": "/dev/kmsg-probe", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666}]);
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]);
    let out = rt.run(&unique_id("devcg"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EPERM, "{out}");
}
