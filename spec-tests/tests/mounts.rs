//! root.path/readonly, mounts (types, options, binds, creation of
//! destinations), linux.maskedPaths, linux.readonlyPaths,
//! linux.rootfsPropagation.

use serde_json::json;
use spec_tests::report::{mount, mount_has_option};
use spec_tests::{unique_id, Bundle, Runtime, TempDir};

#[test]
fn default_mounts_have_their_types() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    for (target, fstype) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
    ] {
        let m = mount(&r, target).unwrap_or_else(|| panic!("no mount at {target}"));
        assert_eq!(m["fstype"], fstype, "{target}");
    }
}

#[test]
fn mount_options_are_applied() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    for opt in ["nosuid", "noexec", "nodev"] {
        assert!(
            mount_has_option(&r, "/dev/shm", opt),
            "/dev/shm lacks {opt}"
        );
    }
    assert!(mount_has_option(&r, "/sys", "ro"), "/sys is not ro");
    assert!(
        mount_has_option(&r, "/dev/shm", "size=65536k"),
        "/dev/shm size"
    );
    assert!(
        mount_has_option(&r, "/dev/pts", "ptmxmode=666"),
        "/dev/pts ptmxmode"
    );
}

#[test]
fn readonly_root_is_mounted_read_only() {
    let rt = Runtime::new();
    let r = rt.report(&Bundle::checker(&[]));
    assert!(mount_has_option(&r, "/", "ro"), "/ is not ro");
    let out = rt.run(
        &unique_id("rofs"),
        &Bundle::checker(&["write", "/newfile"]),
        &[],
    );
    assert_eq!(out.json()["errno"], libc::EROFS, "{out}");
}

#[test]
fn writable_root_accepts_writes_that_land_in_the_rootfs() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["write", "/newfile", "content-1"]);
    b.writable();
    rt.run(&unique_id("rwfs"), &b, &[]).ok();
    let text = std::fs::read_to_string(b.rootfs().join("newfile")).expect("file in rootfs");
    assert_eq!(text, "content-1");
}

#[test]
fn root_is_the_bundle_rootfs() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["ls", "/"]);
    std::fs::write(b.rootfs().join("marker-root"), "x").expect("marker");
    let out = rt.run(&unique_id("rootls"), &b, &[]);
    out.ok();
    let names = spec_tests::report::strings(&out.json()["value"]);
    assert!(names.contains(&"marker-root".to_string()), "{names:?}");
    assert!(names.contains(&"checker".to_string()), "{names:?}");
}

#[test]
fn bind_mount_shows_host_files() {
    let rt = Runtime::new();
    let host = TempDir::new("bindsrc");
    std::fs::write(host.path().join("hello"), "from host").expect("write");
    let mut b = Bundle::checker(&["read", "/data/hello"]);
    b.add_mount(json!({"destination": "/data", "type": "bind",
        "source": host.path(), "options": ["bind"]}));
    let out = rt.run(&unique_id("bind"), &b, &[]);
    out.ok();
    assert_eq!(out.json()["value"], "from host");
}

#[test]
fn read_only_bind_mount_rejects_writes() {
    let rt = Runtime::new();
    let host = TempDir::new("bindro");
    let mut b = Bundle::checker(&["write", "/data/new"]);
    b.add_mount(json!({"destination": "/data", "type": "bind",
        "source": host.path(), "options": ["rbind", "ro"]}));
    let out = rt.run(&unique_id("bindro"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EROFS, "{out}");
    assert!(!host.path().join("new").exists());
}

#[test]
fn read_write_bind_mount_writes_reach_the_host() {
    let rt = Runtime::new();
    let host = TempDir::new("bindrw");
    let mut b = Bundle::checker(&["write", "/data/new", "written"]);
    b.add_mount(json!({"destination": "/data", "type": "bind",
        "source": host.path(), "options": ["rbind", "rw"]}));
    rt.run(&unique_id("bindrw"), &b, &[]).ok();
    assert_eq!(
        std::fs::read_to_string(host.path().join("new"))
            .ok()
            .as_deref(),
        Some("written")
    );
}

#[test]
fn file_bind_mount_creates_its_destination_file() {
    let rt = Runtime::new();
    let host = TempDir::new("bindfile");
    let src = host.path().join("conf");
    std::fs::write(&src, "file content").expect("write");
    let mut b = Bundle::checker(&["read", "/etc/deep/new.conf"]);
    b.add_mount(json!({"destination": "/etc/deep/new.conf", "type": "bind",
        "source": src, "options": ["bind", "ro"]}));
    let out = rt.run(&unique_id("bindfile"), &b, &[]);
    out.ok();
    assert_eq!(out.json()["value"], "file content");
}

#[test]
fn missing_mount_destination_directories_are_created() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.add_mount(
        json!({"destination": "/a/b/c", "type": "tmpfs", "source": "tmpfs",
        "options": ["size=1m", "mode=700"]}),
    );
    let r = rt.report(&b);
    let m = mount(&r, "/a/b/c").expect("tmpfs at /a/b/c");
    assert_eq!(m["fstype"], "tmpfs");
    assert!(mount_has_option(&r, "/a/b/c", "size=1024k"), "{m}");
    assert!(mount_has_option(&r, "/a/b/c", "mode=700"), "{m}");
}

#[test]
fn masked_paths_are_unreadable() {
    let rt = Runtime::new();
    let out = rt.run(
        &unique_id("maskfile"),
        &Bundle::checker(&["read", "/proc/kcore"]),
        &[],
    );
    let v = out.json();
    // Masked by /dev/null: reads as empty, or denied.
    assert!(v["ok"] == false || v["value"] == "", "{out}");
    let out = rt.run(
        &unique_id("maskdir"),
        &Bundle::checker(&["ls", "/sys/firmware"]),
        &[],
    );
    let v = out.json();
    assert!(v["ok"] == false || v["value"] == json!([]), "{out}");
}

#[test]
fn readonly_paths_reject_writes() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["write", "/proc/sys/kernel/hostname", "changed"]);
    b.config["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_ADMIN"]);
    b.config["process"]["capabilities"]["effective"] = json!(["CAP_SYS_ADMIN"]);
    b.config["process"]["capabilities"]["permitted"] = json!(["CAP_SYS_ADMIN"]);
    let out = rt.run(&unique_id("ropath"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EROFS, "{out}");
}

#[test]
fn rootfs_propagation_private_makes_root_private() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["rootfsPropagation"] = "private".into();
    let r = rt.report(&b);
    let root = mount(&r, "/").expect("root mount");
    assert_eq!(root["propagation"], json!([]), "{root}");
}

#[test]
fn rootfs_propagation_shared_makes_root_shared() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["linux"]["rootfsPropagation"] = "shared".into();
    let r = rt.report(&b);
    let root = mount(&r, "/").expect("root mount");
    let prop = spec_tests::report::strings(&root["propagation"]);
    assert!(prop.iter().any(|p| p.starts_with("shared:")), "{root}");
}

#[test]
fn no_pivot_still_confines_the_process_to_the_rootfs() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["cwd-escape"]);
    let out = rt.run(&unique_id("nopivot"), &b, &["--no-pivot"]);
    out.ok();
    let v = out.json();
    assert_eq!(v["reaches_root"], true, "{v}");
    assert_eq!(v["sees_etc_os_release_above"], false, "{v}");
    let out = rt.run(
        &unique_id("nopivotls"),
        &Bundle::checker(&["ls", "/"]),
        &["--no-pivot"],
    );
    let names = spec_tests::report::strings(&out.json()["value"]);
    assert!(names.contains(&"checker".to_string()), "{names:?}");
}

#[test]
fn recursive_read_only_bind_makes_submounts_read_only() {
    let rt = Runtime::new();
    let host = TempDir::new("rro");
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir sub");
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&sub)
        .status()
        .expect("mount tmpfs");
    assert!(status.success());
    let mut b = Bundle::checker(&["write", "/data/sub/new"]);
    b.add_mount(json!({"destination": "/data", "type": "bind",
        "source": host.path(), "options": ["rbind", "rro"]}));
    let out = rt.run(&unique_id("rro"), &b, &[]);
    assert_eq!(out.json()["errno"], libc::EROFS, "{out}");
}

#[test]
fn mount_flag_options_are_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.add_mount(
        json!({"destination": "/flags", "type": "tmpfs", "source": "tmpfs",
        "options": ["noexec", "nosuid", "nodev", "noatime", "ro"]}),
    );
    let r = rt.report(&b);
    for opt in ["noexec", "nosuid", "nodev", "noatime", "ro"] {
        assert!(
            mount_has_option(&r, "/flags", opt),
            "/flags lacks {opt}: {:?}",
            mount(&r, "/flags")
        );
    }
}

#[test]
fn bind_mount_propagation_option_is_applied() {
    let rt = Runtime::new();
    let host = TempDir::new("bindprop");
    let mut b = Bundle::checker(&[]);
    b.add_mount(
        json!({"destination": "/shared", "type": "bind", "source": host.path(),
        "options": ["rbind", "rshared"]}),
    );
    b.add_mount(
        json!({"destination": "/private", "type": "bind", "source": host.path(),
        "options": ["rbind", "rprivate"]}),
    );
    let r = rt.report(&b);
    let shared =
        spec_tests::report::strings(&mount(&r, "/shared").expect("/shared")["propagation"]);
    assert!(
        shared.iter().any(|p| p.starts_with("shared:")),
        "{shared:?}"
    );
    let private = &mount(&r, "/private").expect("/private")["propagation"];
    assert_eq!(private, &json!([]), "{private}");
}

#[test]
fn dev_stays_writable_under_a_read_only_root() {
    let rt = Runtime::new();
    let out = rt.run(
        &unique_id("devshm"),
        &Bundle::checker(&["write", "/dev/shm/x"]),
        &[],
    );
    out.ok();
}

#[test]
fn idmapped_bind_mount_shows_mapped_owners() {
    let rt = Runtime::new();
    let host = TempDir::new("idmap");
    let file = host.path().join("owned");
    std::fs::write(&file, "x").expect("write");
    std::os::unix::fs::chown(&file, Some(1000), Some(1000)).expect("chown");
    let mut b = Bundle::checker(&["stat", "/data/owned"]);
    // On-disk ids (containerID side) appear as the hostID side through the mount.
    b.add_mount(
        json!({"destination": "/data", "type": "bind", "source": host.path(),
        "options": ["bind", "idmap"],
        "uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
        "gidMappings": [{"containerID": 1000, "hostID": 3000, "size": 1}]}),
    );
    let out = rt.run(&unique_id("idmap"), &b, &[]);
    out.ok();
    let v = out.json();
    assert_eq!(
        (v["value"]["uid"].as_u64(), v["value"]["gid"].as_u64()),
        (Some(2000), Some(3000)),
        "{v}"
    );
    let meta = std::fs::metadata(&file).expect("stat on host");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid()),
        (1000, 1000),
        "the host file's owner changed"
    );
}
