//! Pulling from a real registry what skopeo pushed, and unpacking/bundling it.

mod common;

use common::images::{self, Cfg};
use common::servers::{Auth, Registry};
use common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

/// A plain-HTTP registry holding `layered:v1` (busybox base + a change layer).
fn registry_with_layered_image() -> (Registry, tempfile::TempDir) {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    let cfg = Cfg {
        entrypoint: &["/bin/sh", "-c"],
        cmd: &["echo hello"],
        user: "app",
        env: &["PATH=/bin", "GREETING=hi"],
        workdir: "/data",
    };
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &cfg,
    );
    images::skopeo_push(&layout, "v1", &format!("{}/team/layered:v1", reg.addr), &[]);
    (reg, work)
}

#[test]
fn pull_reads_what_skopeo_pushed_and_unpack_applies_every_layer_feature() {
    let (reg, work) = registry_with_layered_image();
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/team/layered:v1", reg.addr);
    let digest = hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "pull",
        &image,
    ]);
    assert!(digest.trim().starts_with("sha256:"), "{digest}");
    let listed = hoist_ok(&["--root", s(&root), "images"]);
    assert!(listed.contains(&image), "{listed}");
    assert!(files_under(&root.join("tmp")).is_empty());

    let rootfs = work.path().join("rootfs");
    hoist_ok(&["--root", s(&root), "unpack", &image, s(&rootfs)]);
    let read =
        |p: &str| std::fs::read_to_string(rootfs.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    // added, changed, deleted
    assert_eq!(read("data/new.txt"), "new file\n");
    assert_eq!(read("etc/motd"), "new motd\n");
    assert!(
        !rootfs.join("data/old.txt").exists(),
        "whiteout did not delete old.txt"
    );
    assert!(!rootfs.join("data/.wh.old.txt").exists());
    // opaque directory: lower content gone, same-layer content kept
    assert!(!rootfs.join("opq/hidden").exists() && !rootfs.join("opq/sub").exists());
    assert_eq!(read("opq/kept"), "kept\n");
    // hardlinks, within the layer and to a lower layer's file
    let m1 = std::fs::metadata(rootfs.join("data/hl1")).expect("hl1");
    let m2 = std::fs::metadata(rootfs.join("data/hl2")).expect("hl2");
    assert_eq!((m1.ino(), m1.nlink()), (m2.ino(), 2));
    assert_eq!(
        std::fs::metadata(rootfs.join("data/lowerlink"))
            .expect("ll")
            .ino(),
        std::fs::metadata(rootfs.join("data/lowerfile"))
            .expect("lf")
            .ino()
    );
    // symlinks, setuid + ownership, fifo, device, xattrs, mtime
    assert_eq!(
        std::fs::read_link(rootfs.join("data/sym"))
            .expect("sym")
            .to_str(),
        Some("new.txt")
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("bin/sh"))
            .expect("sh")
            .to_str(),
        Some("busybox")
    );
    let suid = std::fs::metadata(rootfs.join("data/suid")).expect("suid");
    assert_eq!(
        (suid.permissions().mode() & 0o7777, suid.uid(), suid.gid()),
        (0o4755, 1000, 1000)
    );
    assert!(std::fs::symlink_metadata(rootfs.join("data/fifo"))
        .expect("fifo")
        .file_type()
        .is_fifo());
    let null = std::fs::symlink_metadata(rootfs.join("data/null")).expect("null");
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(suid.mtime(), 1_600_000_000);
    // Directory mtimes are restored after their entries were written.
    assert_eq!(
        std::fs::metadata(rootfs.join("data"))
            .expect("data")
            .mtime(),
        1_600_000_000
    );
    let cap = rustix_getxattr(&rootfs.join("data/capped"), "security.capability");
    assert_eq!(cap.len(), 20, "security.capability not restored");
    assert_eq!(
        rustix_getxattr(&rootfs.join("data/capped"), "user.note"),
        b"hello"
    );
    assert!(
        std::fs::metadata(rootfs.join("bin/busybox"))
            .expect("busybox")
            .permissions()
            .mode()
            & 0o111
            != 0
    );
}

fn rustix_getxattr(p: &std::path::Path, name: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(p, name, &mut buf)
        .unwrap_or_else(|e| panic!("{}: getxattr {name}: {e}", p.display()));
    buf.truncate(n);
    buf
}

#[test]
fn second_pull_fetches_nothing_and_prune_keeps_what_images_need() {
    let (reg, work) = registry_with_layered_image();
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/team/layered:v1", reg.addr);
    let first = hoist(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "pull",
        &image,
    ]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("fetched"));
    let second = hoist(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "pull",
        &image,
    ]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        second.status.success() && !err.contains("fetched") && err.contains("exists"),
        "{err}"
    );

    let before = files_under(&root.join("blobs"));
    hoist_ok(&["--root", s(&root), "prune"]);
    assert_eq!(
        files_under(&root.join("blobs")),
        before,
        "prune removed blobs an image needs"
    );
    hoist_ok(&["--root", s(&root), "tag", &image, "local/copy:1"]);
    hoist_ok(&["--root", s(&root), "rmi", &image]);
    hoist_ok(&["--root", s(&root), "prune"]);
    assert_eq!(
        files_under(&root.join("blobs")),
        before,
        "tagged copy still needs every blob"
    );
    hoist_ok(&["--root", s(&root), "rmi", "local/copy:1"]);
    hoist_ok(&["--root", s(&root), "prune"]);
    assert!(files_under(&root.join("blobs")).is_empty());
}

#[test]
fn bundle_config_comes_from_the_image_config() {
    let (reg, work) = registry_with_layered_image();
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/team/layered:v1", reg.addr);
    let b = work.path().join("bundle");
    hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "bundle",
        "--copy",
        &image,
        s(&b),
    ]);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).expect("config.json"))
            .expect("json");
    assert_eq!(
        spec["process"]["args"],
        serde_json::json!(["/bin/sh", "-c", "echo hello"])
    );
    assert_eq!(
        spec["process"]["user"],
        serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10]})
    );
    assert_eq!(spec["process"]["cwd"], "/data");
    assert_eq!(
        spec["process"]["env"],
        serde_json::json!(["PATH=/bin", "GREETING=hi", "HOME=/home/app"])
    );
    assert_eq!(spec["annotations"]["org.example.test"], "yes");
    assert_eq!(
        spec["annotations"]["org.opencontainers.image.stopSignal"],
        "SIGQUIT"
    );
    assert_eq!(
        std::fs::read_to_string(b.join("rootfs/etc/motd")).expect("motd"),
        "new motd\n"
    );
}

#[test]
fn bundle_overlay_of_cached_layers_shows_the_same_tree() {
    let (reg, work) = registry_with_layered_image();
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/team/layered:v1", reg.addr);
    let b = work.path().join("bundle");
    hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "bundle",
        &image,
        s(&b),
    ]);
    let guard = OverlayGuard(b.join("rootfs"));
    let r = &guard.0;
    assert_eq!(
        std::fs::read_to_string(r.join("etc/motd")).expect("motd"),
        "new motd\n"
    );
    assert!(!r.join("data/old.txt").exists());
    assert!(!r.join("opq/hidden").exists() && r.join("opq/kept").exists());
    assert_eq!(
        std::fs::read_to_string(r.join("data/lowerlink")).expect("lowerlink"),
        "lower content\n"
    );
    assert!(
        !files_under(&root.join("layers")).is_empty(),
        "no cached layers"
    );
    // A second bundle reuses the cached layers.
    let b2 = work.path().join("bundle2");
    hoist_ok(&["--root", s(&root), "-q", "bundle", &image, s(&b2)]);
    let guard2 = OverlayGuard(b2.join("rootfs"));
    assert!(guard2.0.join("bin/busybox").exists());
}

/// Unmounts an overlay rootfs when the test ends, even on failure.
struct OverlayGuard(std::path::PathBuf);

impl Drop for OverlayGuard {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn bad_references_and_missing_images_fail_with_one_clear_line() {
    let work = tempfile::tempdir().expect("tmp");
    let root = work.path().join("store");
    let e = hoist_err(&["--root", s(&root), "pull", "Bad/Name"]);
    assert!(e.contains("\"Bad\"") && e.contains("lowercase"), "{e}");
    let e = hoist_err(&["--root", s(&root), "pull", "busybox@sha256:1234"]);
    assert!(e.contains("sha256"), "{e}");
    let e = hoist_err(&["--root", s(&root), "inspect", "nothere"]);
    assert!(e.contains("not in the store"), "{e}");
    let reg = Registry::start(false, Auth::None);
    let conf = insecure_config(work.path(), &reg.addr);
    let e = hoist_err(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "pull",
        &format!("{}/no/such:tag", reg.addr),
    ]);
    assert!(e.contains("404") && e.contains("MANIFEST_UNKNOWN"), "{e}");
    assert!(
        files_under(&root.join("blobs")).is_empty() && files_under(&root.join("tmp")).is_empty()
    );
}

#[test]
fn hostile_image_fails_with_one_line_and_leaves_no_partial_layer() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let victim = work.path().join("victim");
    std::fs::write(&victim, "original").expect("victim");
    let layout = work.path().join("layout");
    let evil = images::Tar::default()
        .file("ok", 0o644, b"fine")
        .hardlink("h", victim.to_str().expect("utf-8"))
        .finish();
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), evil],
        &Cfg::default(),
    );
    images::skopeo_push(&layout, "v1", &format!("{}/evil/app:v1", reg.addr), &[]);
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/evil/app:v1", reg.addr);
    let e = hoist_err(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "bundle",
        &image,
        s(&work.path().join("b")),
    ]);
    assert!(
        e.contains("entry \"h\"") && e.contains("hardlink target does not exist"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "original"
    );
    assert_eq!(std::fs::metadata(&victim).expect("victim").nlink(), 1);
    assert!(
        files_under(&root.join("tmp")).is_empty(),
        "partial layer left in tmp"
    );
    // Only the good base layer made it into the cache.
    assert_eq!(
        std::fs::read_dir(root.join("layers"))
            .expect("layers")
            .count(),
        1
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(s(work.path())), "overlay left mounted");
}

#[test]
fn short_names_resolve_to_docker_io_library_through_a_configured_mirror() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "1.36",
        &[images::busybox_layer(work.path())],
        &Cfg::default(),
    );
    images::skopeo_push(
        &layout,
        "1.36",
        &format!("{}/library/busybox:1.36", reg.addr),
        &[],
    );
    let conf = work.path().join("mirror.json");
    std::fs::write(
        &conf,
        format!(
            r#"{{"registries":{{"docker.io":{{"mirror":"{0}"}},"{0}":{{"insecure":true}}}}}}"#,
            reg.addr
        ),
    )
    .expect("conf");
    let root = work.path().join("store");
    let digest = hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "pull",
        "busybox:1.36",
    ]);
    let listed = hoist_ok(&["--root", s(&root), "images"]);
    assert!(
        listed.contains("docker.io/library/busybox:1.36"),
        "{listed}"
    );
    // The same image by the other spellings people use, and by digest.
    for name in [
        "library/busybox:1.36",
        "docker.io/library/busybox:1.36",
        &format!("busybox@{}", digest.trim()),
    ] {
        hoist_ok(&[
            "--root",
            s(&root),
            "--registry-config",
            s(&conf),
            "-q",
            "pull",
            name,
        ]);
    }
    let inspect: serde_json::Value =
        serde_json::from_str(&hoist_ok(&["--root", s(&root), "inspect", "busybox:1.36"]))
            .expect("json");
    assert_eq!(inspect["digest"].as_str(), Some(digest.trim()));
}

#[test]
fn docker_schema2_manifests_pull_and_unpack() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
    );
    images::skopeo_push(
        &layout,
        "v1",
        &format!("{}/docker/app:v1", reg.addr),
        &["--format", "v2s2"],
    );
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/docker/app:v1", reg.addr);
    hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "pull",
        &image,
    ]);
    let inspect: serde_json::Value =
        serde_json::from_str(&hoist_ok(&["--root", s(&root), "inspect", &image])).expect("json");
    assert_eq!(
        inspect["manifest"]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        inspect["manifest"]["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    let rootfs = work.path().join("rootfs");
    hoist_ok(&["--root", s(&root), "unpack", &image, s(&rootfs)]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/motd")).expect("motd"),
        "new motd\n"
    );
}
