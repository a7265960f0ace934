//! Hostile layers cannot touch anything outside the rootfs: each test plants a host
//! file next to the rootfs, applies a crafted layer, and proves the host file untouched.

mod common;

use common::images::Tar;
use hoist::unpack::{apply_layer, ApplyOptions, Target};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

struct Scene {
    _t: tempfile::TempDir,
    rootfs: PathBuf,
    host: PathBuf,
    victim: PathBuf,
}

/// `<tmp>/rootfs` and `<tmp>/host/victim` ("original", mode 0644).
fn scene() -> Scene {
    let t = tempfile::tempdir().expect("tmp");
    let rootfs = t.path().join("rootfs");
    let host = t.path().join("host");
    std::fs::create_dir_all(&rootfs).expect("rootfs");
    std::fs::create_dir_all(&host).expect("host");
    let victim = host.join("victim");
    std::fs::write(&victim, "original").expect("victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    Scene {
        rootfs,
        host,
        victim,
        _t: t,
    }
}

impl Scene {
    fn apply(&self, tar: Vec<u8>) -> Result<(), hoist::unpack::UnpackError> {
        apply_layer(&self.rootfs, &tar[..], "hostile", &ApplyOptions::default())
    }

    fn apply_overlay(&self, tar: Vec<u8>) -> Result<(), hoist::unpack::UnpackError> {
        apply_layer(
            &self.rootfs,
            &tar[..],
            "hostile",
            &ApplyOptions {
                mode: Target::Overlay,
                ..Default::default()
            },
        )
    }

    /// The host file still exists, unchanged, with one link and its mode.
    fn assert_host_untouched(&self) {
        let m = std::fs::metadata(&self.victim).expect("host victim must still exist");
        assert_eq!(
            std::fs::read_to_string(&self.victim).expect("read"),
            "original"
        );
        assert_eq!(m.nlink(), 1, "a link to the host file was made");
        assert_eq!(m.permissions().mode() & 0o7777, 0o644);
        assert_eq!(
            std::fs::read_dir(&self.host).expect("host dir").count(),
            1,
            "something was added to the host dir"
        );
    }

    fn host_abs(&self) -> String {
        self.host.display().to_string()
    }
}

fn up(rootfs: &Path) -> String {
    "../".repeat(rootfs.components().count() + 2)
}

#[test]
fn dotdot_path_lands_inside_the_rootfs() {
    let s = scene();
    let name = format!(
        "{}{}/victim",
        up(&s.rootfs),
        s.host_abs().trim_start_matches('/')
    );
    s.apply(
        Tar::default()
            .file("../host/victim", 0o777, b"pwned")
            .file(&name, 0o777, b"pwned")
            .finish(),
    )
    .expect("apply");
    s.assert_host_untouched();
    assert_eq!(
        std::fs::read_to_string(s.rootfs.join("host/victim")).expect("inside"),
        "pwned"
    );
}

#[test]
fn absolute_path_lands_inside_the_rootfs() {
    let s = scene();
    s.apply(
        Tar::default()
            .file(&format!("{}/victim", s.host_abs()), 0o777, b"pwned")
            .finish(),
    )
    .expect("apply");
    s.assert_host_untouched();
    assert!(s
        .rootfs
        .join(s.host_abs().trim_start_matches('/'))
        .join("victim")
        .exists());
}

#[test]
fn write_through_absolute_symlink_stays_inside() {
    let s = scene();
    let tar = Tar::default()
        .symlink("a", &s.host_abs())
        .file("a/victim", 0o777, b"pwned")
        .file("a/new", 0o644, b"x")
        .finish();
    // The symlink resolves to <rootfs><host path>, which does not exist: refused.
    let e = s.apply(tar.clone()).expect_err("dangling in-root parent");
    assert!(
        e.to_string().contains("a/victim") && e.to_string().contains("parent"),
        "{e}"
    );
    s.assert_host_untouched();
    // Where that path exists inside the rootfs, the write lands there.
    let inside = s.rootfs.join(s.host_abs().trim_start_matches('/'));
    std::fs::create_dir_all(&inside).expect("inside dir");
    s.apply(tar).expect("apply");
    s.assert_host_untouched();
    assert_eq!(
        std::fs::read_to_string(inside.join("victim")).expect("inside"),
        "pwned"
    );
}

#[test]
fn write_through_relative_escaping_symlink_stays_inside() {
    let s = scene();
    let target = format!("{}{}", up(&s.rootfs), s.host_abs().trim_start_matches('/'));
    assert!(s
        .apply(
            Tar::default()
                .symlink("b", &target)
                .file("b/victim", 0o777, b"pwned")
                .finish()
        )
        .is_err());
    s.assert_host_untouched();
    std::fs::create_dir_all(s.rootfs.join(s.host_abs().trim_start_matches('/')))
        .expect("inside dir");
    s.apply(
        Tar::default()
            .symlink("b", &target)
            .file("b/victim", 0o777, b"pwned")
            .finish(),
    )
    .expect("apply");
    s.assert_host_untouched();
}

#[test]
fn symlink_to_etc_then_etc_passwd_does_not_reach_the_host() {
    let s = scene();
    let before = std::fs::read("/etc/passwd").expect("host passwd");
    std::fs::create_dir(s.rootfs.join("etc")).expect("rootfs etc");
    s.apply(
        Tar::default()
            .symlink("a", "/etc")
            .file("a/passwd", 0o644, b"evil::0:0::/:/bin/sh\n")
            .finish(),
    )
    .expect("apply");
    assert_eq!(std::fs::read("/etc/passwd").expect("host passwd"), before);
    assert_eq!(
        std::fs::read_to_string(s.rootfs.join("etc/passwd")).expect("inside"),
        "evil::0:0::/:/bin/sh\n"
    );
}

#[test]
fn directory_entry_through_symlink_does_not_chmod_the_host() {
    let s = scene();
    let before = std::fs::metadata(&s.host)
        .expect("host")
        .permissions()
        .mode();
    s.apply(
        Tar::default()
            .symlink("d", &s.host_abs())
            .dir("d/", 0o777)
            .finish(),
    )
    .expect("apply");
    assert_eq!(
        std::fs::metadata(&s.host)
            .expect("host")
            .permissions()
            .mode(),
        before
    );
    s.assert_host_untouched();
}

#[test]
fn hardlink_to_outside_file_is_refused() {
    let s = scene();
    let abs = format!("{}/victim", s.host_abs());
    let e = s
        .apply(Tar::default().hardlink("h", &abs).finish())
        .expect_err("absolute hardlink target");
    assert!(
        e.to_string().contains("hardlink target does not exist"),
        "{e}"
    );
    let rel = format!(
        "{}{}/victim",
        up(&s.rootfs),
        s.host_abs().trim_start_matches('/')
    );
    assert!(s
        .apply(Tar::default().hardlink("h2", &rel).finish())
        .is_err());
    s.assert_host_untouched();
}

#[test]
fn hardlink_through_symlink_to_outside_file_is_refused() {
    let s = scene();
    let tar = Tar::default()
        .symlink("s", &s.host_abs())
        .hardlink("h", "s/victim")
        .file("h", 0o644, b"pwned")
        .finish();
    assert!(s.apply(tar).is_err());
    s.assert_host_untouched();
}

#[test]
fn whiteout_naming_an_outside_path_removes_nothing_outside() {
    let s = scene();
    let rel = format!(
        "{}{}/.wh.victim",
        up(&s.rootfs),
        s.host_abs().trim_start_matches('/')
    );
    s.apply(
        Tar::default()
            .file(&rel, 0o644, b"")
            .file(&format!("{}/.wh.victim", s.host_abs()), 0o644, b"")
            .finish(),
    )
    .expect("apply");
    s.assert_host_untouched();
}

#[test]
fn whiteout_and_opaque_through_symlink_remove_nothing_outside() {
    let s = scene();
    let tar = Tar::default()
        .symlink("s", &s.host_abs())
        .file("s/.wh.victim", 0o644, b"")
        .file("s/.wh..wh..opq", 0o644, b"")
        .finish();
    s.apply(tar).expect("apply");
    s.assert_host_untouched();
    let s2 = scene();
    let tar = Tar::default()
        .symlink("s", &s2.host_abs())
        .file("s/.wh.victim", 0o644, b"")
        .file("s/.wh..wh..opq", 0o644, b"")
        .finish();
    // Overlay mode must create the whiteout; the in-root parent is missing, so it refuses.
    assert!(s2.apply_overlay(tar.clone()).is_err());
    s2.assert_host_untouched();
    std::fs::create_dir_all(s2.rootfs.join(s2.host_abs().trim_start_matches('/')))
        .expect("inside dir");
    s2.apply_overlay(tar).expect("apply overlay");
    s2.assert_host_untouched();
}

#[test]
fn whiteout_of_parent_directory_names_is_ignored() {
    let s = scene();
    std::fs::write(s.rootfs.join("keep"), "k").expect("keep");
    s.apply(
        Tar::default()
            .file(".wh..", 0o644, b"")
            .file("x/.wh...", 0o644, b"")
            .finish(),
    )
    .expect("apply");
    assert!(
        s.rootfs.join("keep").exists(),
        "a whiteout of '..' removed the rootfs"
    );
    s.assert_host_untouched();
}
