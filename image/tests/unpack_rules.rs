//! Layer semantics where unpackers disagree: whiteouts against entries of the same
//! layer, duplicates, type changes, and overlay-format layers.

mod common;

use common::images::Tar;
use hoist::unpack::{apply_layer, ApplyOptions, Target};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

fn apply(root: &Path, tar: Vec<u8>) {
    apply_layer(root, &tar[..], "test", &ApplyOptions::default()).expect("apply");
}

fn read(root: &Path, p: &str) -> String {
    std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn whiteout_and_recreation_in_one_layer_keep_the_new_entry_in_either_order() {
    let t = tempfile::tempdir().expect("tmp");
    let r = t.path();
    apply(
        r,
        Tar::default()
            .dir("d/", 0o755)
            .file("d/old", 0o644, b"old")
            .dir("e/", 0o755)
            .file("e/old", 0o644, b"old")
            .finish(),
    );
    apply(
        r,
        Tar::default()
            .file(".wh.d", 0o644, b"")
            .dir("d/", 0o755)
            .file("d/new", 0o644, b"new")
            .dir("e/", 0o755)
            .file("e/new", 0o644, b"new")
            .file(".wh.e", 0o644, b"")
            .finish(),
    );
    assert_eq!(read(r, "d/new"), "new");
    assert_eq!(read(r, "e/new"), "new");
    assert!(
        !r.join("d/old").exists(),
        "whiteout before the new dir removes the lower one"
    );
}

#[test]
fn opaque_marker_after_entries_of_the_same_layer_keeps_them() {
    let t = tempfile::tempdir().expect("tmp");
    let r = t.path();
    apply(
        r,
        Tar::default()
            .dir("o/", 0o755)
            .file("o/lower", 0o644, b"l")
            .finish(),
    );
    apply(
        r,
        Tar::default()
            .dir("o/", 0o755)
            .file("o/first", 0o644, b"1")
            .file("o/.wh..wh..opq", 0o644, b"")
            .file("o/second", 0o644, b"2")
            .finish(),
    );
    assert!(!r.join("o/lower").exists());
    assert_eq!(
        (read(r, "o/first"), read(r, "o/second")),
        ("1".into(), "2".into())
    );
}

#[test]
fn duplicate_paths_apply_the_last_and_types_can_change() {
    let t = tempfile::tempdir().expect("tmp");
    let r = t.path();
    apply(
        r,
        Tar::default()
            .file("f", 0o644, b"one")
            .file("f", 0o600, b"two")
            .dir("x/", 0o755)
            .file("x/in", 0o644, b"i")
            .file("y", 0o644, b"y")
            .finish(),
    );
    assert_eq!(read(r, "f"), "two");
    // dir -> file, file -> dir, file -> symlink
    apply(
        r,
        Tar::default()
            .file("x", 0o644, b"now a file")
            .dir("y/", 0o755)
            .symlink("f", "x")
            .finish(),
    );
    assert_eq!(read(r, "x"), "now a file");
    assert!(r.join("y").is_dir());
    assert_eq!(
        std::fs::read_link(r.join("f")).expect("link").to_str(),
        Some("x")
    );
}

#[test]
fn overlay_format_layers_mark_whiteouts_and_copy_lower_hardlink_targets() {
    let t = tempfile::tempdir().expect("tmp");
    let lower = t.path().join("lower");
    let upper = t.path().join("upper");
    std::fs::create_dir_all(&lower).expect("lower");
    std::fs::create_dir_all(&upper).expect("upper");
    let ov = |root: &Path, tar: Vec<u8>, lowers: Vec<std::path::PathBuf>| {
        apply_layer(
            root,
            &tar[..],
            "test",
            &ApplyOptions {
                mode: Target::Overlay,
                lowers,
                ..Default::default()
            },
        )
        .expect("apply")
    };
    ov(
        &lower,
        Tar::default()
            .dir("d/", 0o755)
            .file("d/gone", 0o644, b"g")
            .file("d/target", 0o644, b"shared")
            .finish(),
        vec![],
    );
    ov(
        &upper,
        Tar::default()
            .file("d/.wh.gone", 0o644, b"")
            .file("o/.wh..wh..opq", 0o644, b"")
            .hardlink("d/link", "d/target")
            .finish(),
        vec![lower.clone()],
    );
    let wh = std::fs::symlink_metadata(upper.join("d/gone")).expect("whiteout node");
    assert!(wh.file_type().is_char_device());
    assert_eq!(std::os::unix::fs::MetadataExt::rdev(&wh), 0);
    let mut buf = [0u8; 4];
    let n = rustix::fs::getxattr(upper.join("o"), "trusted.overlay.opaque", &mut buf)
        .expect("opaque xattr");
    assert_eq!(&buf[..n], b"y");
    assert_eq!(read(&upper, "d/link"), "shared");
}
