//! push (with cross-repository mount), save and load in both archive formats, each
//! checked against skopeo reading or writing the other side.

mod common;

use common::images::{self, Cfg};
use common::servers::{Auth, Registry};
use common::*;
use std::process::Command;

struct Fixture {
    reg: Registry,
    work: tempfile::TempDir,
    root: std::path::PathBuf,
    conf: std::path::PathBuf,
    image: String,
}

fn pulled() -> Fixture {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
    );
    images::skopeo_push(&layout, "v1", &format!("{}/src/app:v1", reg.addr), &[]);
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/src/app:v1", reg.addr);
    hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "pull",
        &image,
    ]);
    Fixture {
        reg,
        work,
        root,
        conf,
        image,
    }
}

fn skopeo_digest(image: &str) -> String {
    run_ok(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{image}")),
    )
    .trim()
    .to_string()
}

fn check_rootfs(f: &Fixture, root: &std::path::Path, image: &str) {
    let rootfs = f.work.path().join(format!("rootfs-{}", image.len()));
    hoist_ok(&["--root", s(root), "unpack", image, s(&rootfs)]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/motd")).expect("motd"),
        "new motd\n"
    );
    assert!(!rootfs.join("data/old.txt").exists());
    let _ = std::fs::remove_dir_all(&rootfs);
}

#[test]
fn push_mounts_blobs_across_repositories_and_skopeo_reads_it_back() {
    let f = pulled();
    let digest = hoist_ok(&[
        "--root",
        s(&f.root),
        "--registry-config",
        s(&f.conf),
        "-q",
        "inspect",
        &f.image,
    ]);
    let want: serde_json::Value = serde_json::from_str(&digest).expect("json");
    let dest = format!("{}/dst/app:v2", f.reg.addr);
    let o = hoist(&[
        "--root",
        s(&f.root),
        "--registry-config",
        s(&f.conf),
        "push",
        &f.image,
        &dest,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        err.matches("mounted").count(),
        3,
        "layers and config should be mounted from src/app: {err}"
    );
    assert_eq!(
        skopeo_digest(&dest),
        want["digest"].as_str().expect("digest")
    );

    // To another registry: uploaded, and skopeo copies it out intact.
    let other = Registry::start(false, Auth::None);
    let conf2 = f.work.path().join("both.json");
    std::fs::write(
        &conf2,
        format!(
            r#"{{"registries":{{"{}":{{"insecure":true}},"{}":{{"insecure":true}}}}}}"#,
            f.reg.addr, other.addr
        ),
    )
    .expect("conf");
    let dest2 = format!("{}/copy/app:v3", other.addr);
    let o = hoist(&[
        "--root",
        s(&f.root),
        "--registry-config",
        s(&conf2),
        "push",
        &f.image,
        &dest2,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.matches("uploaded").count() == 3,
        "{err}"
    );
    let out = f.work.path().join("skopeo-out");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q", "--src-tls-verify=false"])
            .arg(format!("docker://{dest2}"))
            .arg(format!("oci:{}:x", out.display())),
    );
    assert_eq!(
        skopeo_digest(&dest2),
        want["digest"].as_str().expect("digest")
    );
}

#[test]
fn oci_archive_round_trips_and_skopeo_reads_it() {
    let f = pulled();
    let ar = f.work.path().join("img.tar");
    hoist_ok(&["--root", s(&f.root), "save", "-o", s(&ar), &f.image]);
    let out = f.work.path().join("from-archive");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci-archive:{}", ar.display()))
            .arg(format!("oci:{}:x", out.display())),
    );
    let root2 = f.work.path().join("store2");
    let loaded = hoist_ok(&["--root", s(&root2), "load", "-i", s(&ar)]);
    assert_eq!(loaded.trim(), format!("Loaded image: {}", f.image));
    check_rootfs(&f, &root2, &f.image);
}

#[test]
fn docker_archive_round_trips_and_skopeo_reads_it() {
    let f = pulled();
    let ar = f.work.path().join("docker.tar");
    hoist_ok(&[
        "--root",
        s(&f.root),
        "save",
        "--format",
        "docker-archive",
        "-o",
        s(&ar),
        &f.image,
    ]);
    let out = f.work.path().join("from-docker");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("docker-archive:{}", ar.display()))
            .arg(format!("oci:{}:x", out.display())),
    );
    let root2 = f.work.path().join("store2");
    let loaded = hoist_ok(&["--root", s(&root2), "load", "-i", s(&ar)]);
    assert!(loaded.contains(&f.image), "{loaded}");
    check_rootfs(&f, &root2, &f.image);
}

#[test]
fn archives_written_by_skopeo_load() {
    let f = pulled();
    let layout = f.work.path().join("layout");
    let dar = f.work.path().join("sk-docker.tar");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(format!("docker-archive:{}:example/thing:v3", dar.display())),
    );
    let root2 = f.work.path().join("store2");
    assert_eq!(
        hoist_ok(&["--root", s(&root2), "load", "-i", s(&dar)]).trim(),
        "Loaded image: docker.io/example/thing:v3"
    );
    check_rootfs(&f, &root2, "example/thing:v3");
    let oar = f.work.path().join("sk-oci.tar");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(format!("oci-archive:{}:v9", oar.display())),
    );
    assert_eq!(
        hoist_ok(&["--root", s(&root2), "load", "-i", s(&oar)]).trim(),
        "Loaded image: localhost/sk-oci:v9"
    );
    check_rootfs(&f, &root2, "localhost/sk-oci:v9");
}

#[test]
fn loading_a_truncated_archive_fails_cleanly() {
    let f = pulled();
    let ar = f.work.path().join("img.tar");
    hoist_ok(&["--root", s(&f.root), "save", "-o", s(&ar), &f.image]);
    let data = std::fs::read(&ar).expect("read");
    let cut = f.work.path().join("cut.tar");
    std::fs::write(&cut, &data[..data.len() / 2]).expect("write");
    let root2 = f.work.path().join("store2");
    let e = hoist_err(&["--root", s(&root2), "load", "-i", s(&cut)]);
    assert!(e.contains("cut.tar"), "{e}");
    assert!(files_under(&root2.join("tmp")).is_empty());
    assert!(!hoist_ok(&["--root", s(&root2), "images"]).contains("src/app"));
}
