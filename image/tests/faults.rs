//! Registry faults through a fault-injecting proxy: each is a successful retry or
//! a clear error, never a corrupt store.

mod common;

use common::images::{self, Cfg};
use common::servers::{Auth, Fault, FaultProxy, Registry};
use common::*;

fn setup() -> (Registry, tempfile::TempDir) {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
    );
    images::skopeo_push(&layout, "v1", &format!("{}/f/app:v1", reg.addr), &[]);
    (reg, work)
}

fn is_big_blob(line: &str) -> bool {
    line.starts_with("GET ") && line.contains("/blobs/sha256:")
}

fn pull_via(
    proxy: &FaultProxy,
    work: &std::path::Path,
    root: &std::path::Path,
) -> std::process::Output {
    let conf = insecure_config(work, &proxy.addr());
    hoist(&[
        "--root",
        s(root),
        "--registry-config",
        s(&conf),
        "-q",
        "pull",
        "--jobs",
        "1",
        &format!("{}/f/app:v1", proxy.addr()),
    ])
}

#[test]
fn dropped_connection_mid_blob_resumes_with_range() {
    let (reg, work) = setup();
    let dropped = std::sync::atomic::AtomicBool::new(false);
    let proxy = FaultProxy::start(&reg.addr, move |line, _| {
        if is_big_blob(line) && !dropped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Fault::Drop
        } else {
            Fault::Pass
        }
    });
    let root = work.path().join("store");
    let o = pull_via(&proxy, work.path(), &root);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = proxy.seen.lock().expect("lock").clone();
    assert!(
        seen.iter()
            .any(|h| h.to_ascii_lowercase().contains("range: bytes=")),
        "no Range request after the drop"
    );
    let rootfs = work.path().join("rootfs");
    hoist_ok(&[
        "--root",
        s(&root),
        "unpack",
        &format!("{}/f/app:v1", proxy.addr()),
        s(&rootfs),
    ]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/motd")).expect("motd"),
        "new motd\n"
    );
}

#[test]
fn server_error_is_retried() {
    let (reg, work) = setup();
    let proxy = FaultProxy::start(&reg.addr, |line, n| {
        if n < 2 && line.contains("/manifests/") {
            Fault::Error500
        } else {
            Fault::Pass
        }
    });
    let root = work.path().join("store");
    let o = pull_via(&proxy, work.path(), &root);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn persistent_server_error_is_a_clear_error_and_stores_nothing() {
    let (reg, work) = setup();
    let proxy = FaultProxy::start(&reg.addr, |line, _| {
        if is_big_blob(line) {
            Fault::Error500
        } else {
            Fault::Pass
        }
    });
    let root = work.path().join("store");
    let o = pull_via(&proxy, work.path(), &root);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("500") && e.trim_end().lines().count() == 1,
        "{e}"
    );
    assert!(
        files_under(&root.join("blobs")).is_empty() && files_under(&root.join("tmp")).is_empty()
    );
    assert!(!hoist_ok(&["--root", s(&root), "images"]).contains("f/app"));
}

#[test]
fn wrong_digest_is_refused_and_nothing_of_it_stays() {
    let (reg, work) = setup();
    let proxy = FaultProxy::start(&reg.addr, |line, _| {
        if is_big_blob(line) {
            Fault::Corrupt
        } else {
            Fault::Pass
        }
    });
    let root = work.path().join("store");
    let o = pull_via(&proxy, work.path(), &root);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("refusing it"), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(
        files_under(&root.join("blobs")).is_empty(),
        "a tampered blob was stored"
    );
    assert!(
        files_under(&root.join("tmp")).is_empty(),
        "temp file left behind"
    );
    assert!(!hoist_ok(&["--root", s(&root), "images"]).contains("f/app"));
}

#[test]
fn killed_mid_download_leaves_no_half_blob_and_the_next_pull_works() {
    let (reg, work) = setup();
    let proxy = FaultProxy::start(&reg.addr, |line, _| {
        if is_big_blob(line) {
            Fault::Stall
        } else {
            Fault::Pass
        }
    });
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &proxy.addr());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "--root",
            s(&root),
            "--registry-config",
            s(&conf),
            "-q",
            "pull",
            "--jobs",
            "1",
            &format!("{}/f/app:v1", proxy.addr()),
        ])
        .spawn()
        .expect("spawn hoist");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let partial = || {
        files_under(&root.join("tmp"))
            .iter()
            .any(|f| std::fs::metadata(root.join("tmp").join(f)).is_ok_and(|m| m.len() > 0))
    };
    while !(proxy.stalled.load(std::sync::atomic::Ordering::SeqCst) && partial()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the download never stalled halfway"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill hoist");
    child.wait().expect("wait");
    // Every blob under its name is complete; the partial one is only in tmp/.
    for f in files_under(&root.join("blobs/sha256")) {
        let data = std::fs::read(root.join("blobs/sha256").join(&f)).expect("blob");
        let hex: String = <sha2::Sha256 as sha2::Digest>::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            f.to_str(),
            Some(hex.as_str()),
            "a half blob is stored under a digest name"
        );
    }
    assert!(!hoist_ok(&["--root", s(&root), "images"]).contains("f/app"));
    hoist_ok(&["--root", s(&root), "prune"]);
    assert!(
        files_under(&root.join("tmp")).is_empty(),
        "prune leaves stale temp files"
    );
    let direct = insecure_config(work.path(), &reg.addr);
    hoist_ok(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&direct),
        "-q",
        "pull",
        &format!("{}/f/app:v1", reg.addr),
    ]);
}
