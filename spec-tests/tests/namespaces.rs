//! linux.namespaces, hostname/domainname, linux.sysctl, linux.timeOffsets.

use serde_json::json;
use spec_tests::{host_ns, unique_id, Bundle, Runtime};
use std::os::unix::fs::MetadataExt;

#[test]
fn default_namespaces_are_new() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    for (ns, report_key) in [
        ("pid", "pid"),
        ("net", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
        ("mnt", "mnt"),
        ("cgroup", "cgroup"),
    ] {
        let inside = r["namespaces"][report_key].as_u64().expect("ns inode");
        assert_ne!(inside, host_ns(ns), "{ns} namespace is the host's");
    }
}

#[test]
fn process_is_pid_1_in_a_new_pid_namespace() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    assert_eq!(r["pid"], 1);
}

#[test]
fn namespace_left_out_is_shared_with_the_host() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.drop_namespace("network").drop_namespace("ipc");
    let r = rt.report(&b);
    assert_eq!(r["namespaces"]["net"].as_u64(), Some(host_ns("net")));
    assert_eq!(r["namespaces"]["ipc"].as_u64(), Some(host_ns("ipc")));
    assert_ne!(r["namespaces"]["uts"].as_u64(), Some(host_ns("uts")));
}

#[test]
fn namespace_with_a_path_is_joined() {
    let rt = Runtime::new();
    let first = Bundle::checker(&["sleep"]);
    let id = unique_id("nsowner");
    rt.create(&id, &first, &[]).ok();
    let pid = rt.state(&id).expect("state")["pid"].as_i64().expect("pid");
    let net = format!("/proc/{pid}/ns/net");
    let ipc = format!("/proc/{pid}/ns/ipc");
    let mut b = Bundle::checker(&[]);
    b.join_namespace("network", &net)
        .join_namespace("ipc", &ipc);
    let r = rt.report(&b);
    let want_net = std::fs::metadata(&net).expect("stat net ns").ino();
    let want_ipc = std::fs::metadata(&ipc).expect("stat ipc ns").ino();
    assert_eq!(r["namespaces"]["net"].as_u64(), Some(want_net));
    assert_eq!(r["namespaces"]["ipc"].as_u64(), Some(want_ipc));
}

#[test]
fn hostname_and_domainname_are_set_in_the_uts_namespace() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["hostname"] = "box-one".into();
    b.config["domainname"] = "example.test".into();
    let r = rt.report(&b);
    assert_eq!(r["hostname"], "box-one");
    assert_eq!(r["domainname"], "example.test");
}

#[test]
fn user_namespace_maps_ids() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["read", "/proc/self/uid_map"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    // sysfs and cgroupfs need more than a mapped root on some kernels; keep this test about ids.
    b.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != "/sys" && m["destination"] != "/sys/fs/cgroup");
    let out = rt.run(&unique_id("userns"), &b, &[]);
    out.ok();
    let map = out.json()["value"].as_str().unwrap_or_default().to_string();
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields, ["0", "200000", "65536"], "uid_map: {map:?}");
}

#[test]
fn sysctl_is_applied_in_the_container_network_namespace() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["read", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]);
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "80"});
    let out = rt.run(&unique_id("sysctl"), &b, &[]);
    out.ok();
    assert_eq!(
        out.json()["value"].as_str().map(str::trim),
        Some("80"),
        "{out}"
    );
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .expect("host sysctl");
    assert_ne!(host.trim(), "80", "the host's sysctl was changed");
}

#[test]
fn time_namespace_offsets_apply_to_the_monotonic_clock() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["read", "/proc/self/timens_offsets"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 86400, "nanosecs": 0},
        "boottime": {"secs": 172800, "nanosecs": 0}
    });
    let out = rt.run(&unique_id("timens"), &b, &[]);
    out.ok();
    let offsets = out.json()["value"].as_str().unwrap_or_default().to_string();
    assert!(
        offsets.contains("monotonic") && offsets.contains("86400"),
        "{offsets:?}"
    );
    assert!(
        offsets.contains("boottime") && offsets.contains("172800"),
        "{offsets:?}"
    );
}

#[test]
fn user_namespace_with_the_default_mounts_runs() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    let r = rt.report(&b);
    assert_eq!(r["uid"], 0);
    assert_ne!(r["namespaces"]["user"].as_u64(), Some(host_ns("user")));
    assert_eq!(
        spec_tests::report::mount(&r, "/sys").map(|m| m["fstype"].clone()),
        Some(json!("sysfs"))
    );
}

/// A veth pair on the host, removed on drop (if the container has not
/// taken one end away already, deleting the other end removes both).
struct VethPair(String);

impl VethPair {
    fn new(tag: &str) -> VethPair {
        let a = format!("bt{tag}{}", std::process::id() % 100000);
        let st = std::process::Command::new("ip")
            .args([
                "link",
                "add",
                &format!("{a}a"),
                "type",
                "veth",
                "peer",
                "name",
                &format!("{a}b"),
            ])
            .status()
            .expect("ip link add");
        assert!(st.success(), "ip link add failed");
        VethPair(a)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &format!("{}a", self.0)])
            .status();
    }
}

#[test]
fn net_devices_are_moved_into_the_container_and_renamed() {
    let pair = VethPair::new("nd");
    let rt = spec_tests::Runtime::new();
    let mut b = spec_tests::Bundle::with_args(&["cat", "/proc/net/dev"]);
    b.config["linux"]["netDevices"] =
        serde_json::json!({ format!("{}b", pair.0): {"name": "ctr0"} });
    let out = rt.run(&spec_tests::unique_id("netdev"), &b, &[]);
    out.ok();
    assert!(out.stdout.contains("ctr0:"), "{out}");
    // It left the host's namespace.
    assert!(!std::path::Path::new(&format!("/sys/class/net/{}b", pair.0)).exists());
}

#[test]
fn net_device_missing_on_the_host_is_refused() {
    let rt = spec_tests::Runtime::new();
    let mut b = spec_tests::Bundle::with_args(&["true"]);
    b.config["linux"]["netDevices"] = serde_json::json!({"nosuchdev0": {}});
    let out = rt.run(&spec_tests::unique_id("netdevbad"), &b, &[]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("\"nosuchdev0\""), "{out}");
}
