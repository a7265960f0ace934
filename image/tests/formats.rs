//! Multi-platform indexes, zstd and uncompressed layers, and two hoist processes
//! pulling into one store at once.

mod common;

use common::images::{self, Cfg, Comp, Tar};
use common::servers::{Auth, Registry};
use common::*;
use std::process::Command;

fn arch_layer(arch: &str) -> Vec<u8> {
    Tar::default()
        .dir("etc/", 0o755)
        .file("etc/arch", 0o644, arch.as_bytes())
        .finish()
}

#[test]
fn platform_is_chosen_from_an_index() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    let host = hoist::manifest::Platform::host().architecture;
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    images::write_multi_layout(
        &layout,
        "multi",
        &[
            (other, vec![arch_layer(other)]),
            (&host, vec![arch_layer(&host)]),
            ("s390x", vec![arch_layer("s390x")]),
        ],
    );
    images::skopeo_push(
        &layout,
        "multi",
        &format!("{}/m/app:multi", reg.addr),
        &["--all"],
    );
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/m/app:multi", reg.addr);
    let unpack_arch = |root: &str, platform: Option<&str>| {
        let root = work.path().join(root);
        let mut args = vec![
            "--root",
            s(&root),
            "--registry-config",
            s(&conf),
            "-q",
            "pull",
            &image,
        ];
        if let Some(p) = platform {
            args.extend(["--platform", p]);
        }
        hoist_ok(&args);
        let rootfs = root.join("rootfs");
        hoist_ok(&["--root", s(&root), "unpack", &image, s(&rootfs)]);
        std::fs::read_to_string(rootfs.join("etc/arch")).expect("arch")
    };
    assert_eq!(unpack_arch("host", None), host);
    assert_eq!(unpack_arch("s390x", Some("linux/s390x")), "s390x");
    let e = hoist_err(&[
        "--root",
        s(&work.path().join("x")),
        "--registry-config",
        s(&conf),
        "pull",
        "--platform",
        "linux/riscv64",
        &image,
    ]);
    assert!(
        e.contains("no image for platform linux/riscv64") && e.contains("linux/s390x"),
        "{e}"
    );
    let e = hoist_err(&[
        "--root",
        s(&work.path().join("x")),
        "pull",
        "--platform",
        "riscv64",
        &image,
    ]);
    assert!(e.contains("os/arch"), "{e}");
}

#[test]
fn zstd_and_uncompressed_layers_unpack() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    // skopeo 1.9 cannot push zstd reliably: load the layout into hoist and push with hoist.
    let layout = work.path().join("layout");
    let d = images::write_image(
        &layout,
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
        &hoist::manifest::Platform::host().architecture,
        Comp::Zstd,
    );
    images::write_index(&layout, "z", d);
    let ar = work.path().join("z.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&ar)
            .arg("."),
    );
    let staging = work.path().join("staging");
    hoist_ok(&["--root", s(&staging), "load", "-i", s(&ar)]);
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/z/app:v1", reg.addr);
    hoist_ok(&[
        "--root",
        s(&staging),
        "--registry-config",
        s(&conf),
        "-q",
        "push",
        "localhost/z:z",
        &image,
    ]);
    let root = work.path().join("store");
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
    assert!(inspect["manifest"]["layers"][0]["mediaType"]
        .as_str()
        .expect("mt")
        .ends_with("+zstd"));
    let rootfs = work.path().join("rootfs");
    hoist_ok(&["--root", s(&root), "unpack", &image, s(&rootfs)]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/motd")).expect("motd"),
        "new motd\n"
    );

    // docker-archive save writes uncompressed layers; loading them back unpacks the same tree.
    let dar = work.path().join("d.tar");
    hoist_ok(&[
        "--root",
        s(&root),
        "save",
        "--format",
        "docker-archive",
        "-o",
        s(&dar),
        &image,
    ]);
    let root2 = work.path().join("store2");
    hoist_ok(&["--root", s(&root2), "load", "-i", s(&dar)]);
    let inspect: serde_json::Value =
        serde_json::from_str(&hoist_ok(&["--root", s(&root2), "inspect", &image])).expect("json");
    assert_eq!(
        inspect["manifest"]["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    let rootfs2 = work.path().join("rootfs2");
    hoist_ok(&["--root", s(&root2), "unpack", &image, s(&rootfs2)]);
    assert_eq!(
        std::fs::read_to_string(rootfs2.join("etc/motd")).expect("motd"),
        "new motd\n"
    );
}

#[test]
fn two_hoists_pulling_into_one_store_at_once_both_succeed() {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
    );
    images::skopeo_push(&layout, "v1", &format!("{}/c/app:v1", reg.addr), &[]);
    images::skopeo_push(&layout, "v1", &format!("{}/c/other:v1", reg.addr), &[]);
    let conf = insecure_config(work.path(), &reg.addr);
    let root = work.path().join("store");
    let spawn = |repo: &str| {
        Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args([
                "--root",
                s(&root),
                "--registry-config",
                s(&conf),
                "-q",
                "pull",
                &format!("{}/c/{repo}:v1", reg.addr),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn hoist")
    };
    let mut kids: Vec<_> = (0..3)
        .flat_map(|_| [spawn("app"), spawn("other")])
        .collect();
    for k in &mut kids {
        assert!(k.wait().expect("wait").success());
    }
    let listed = hoist_ok(&["--root", s(&root), "images"]);
    assert!(
        listed.contains("c/app:v1") && listed.contains("c/other:v1"),
        "{listed}"
    );
    let ix: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).expect("index"))
            .expect("valid index.json");
    assert_eq!(ix["manifests"].as_array().expect("manifests").len(), 2);
    assert!(files_under(&root.join("tmp")).is_empty());
    let before = files_under(&root.join("blobs"));
    hoist_ok(&["--root", s(&root), "prune"]);
    assert_eq!(files_under(&root.join("blobs")), before);
}

#[test]
fn repeated_empty_layers_still_bundle_as_an_overlay() {
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    let empty = Tar::default().finish();
    let layers = [
        images::busybox_layer(work.path()),
        empty.clone(),
        images::change_layer(),
        empty,
    ];
    let d = images::write_image(
        &layout,
        &layers,
        &Cfg::default(),
        &hoist::manifest::Platform::host().architecture,
        Comp::Gzip,
    );
    images::write_index(&layout, "e", d);
    let ar = work.path().join("e.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&ar)
            .arg("."),
    );
    let root = work.path().join("store");
    hoist_ok(&["--root", s(&root), "load", "-i", s(&ar)]);
    let b = work.path().join("bundle");
    hoist_ok(&["--root", s(&root), "bundle", "localhost/e:e", s(&b)]);
    let rootfs = b.join("rootfs");
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .contains(s(&rootfs));
    let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
    assert!(mounted, "fell back to a copy instead of an overlay");
    assert_eq!(
        std::fs::read_dir(root.join("layers"))
            .expect("layers")
            .count(),
        3
    );
}
