//! `hoist run`: pull if missing, bundle, run with an OCI runtime, clean up.
//! Run once with berth (the default runtime: the `berth` next to hoist) and
//! once with runc, so hoist proves it speaks the plain OCI runtime CLI.

mod common;

use common::images::{self, Cfg};
use common::servers::{Auth, Registry};
use common::*;

fn runc_available() -> bool {
    std::process::Command::new("runc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The berth binary cargo built next to hoist (`cargo build --workspace`).
fn berth_next_to_hoist() -> String {
    let hoist = std::path::Path::new(env!("CARGO_BIN_EXE_hoist"));
    let berth = hoist.with_file_name("berth");
    assert!(
        berth.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        berth.display()
    );
    berth.to_string_lossy().into_owned()
}

#[test]
fn run_with_berth_pulls_bundles_runs_and_cleans_up() {
    run_pulls_bundles_runs_and_cleans_up(&berth_next_to_hoist());
}

#[test]
fn run_with_runc_pulls_bundles_runs_and_cleans_up() {
    assert!(runc_available(), "runc is required (apt-get install runc)");
    run_pulls_bundles_runs_and_cleans_up("runc");
}

fn run_pulls_bundles_runs_and_cleans_up(runtime: &str) {
    let reg = Registry::start(false, Auth::None);
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    let cfg = Cfg {
        cmd: &["/bin/sh", "-c", "echo from-cmd"],
        user: "app",
        ..Default::default()
    };
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &cfg,
    );
    images::skopeo_push(&layout, "v1", &format!("{}/run/app:v1", reg.addr), &[]);
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let image = format!("{}/run/app:v1", reg.addr);
    let base = [
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "-q",
        "run",
        "--rm",
        "--runtime",
        runtime,
    ];

    let out = hoist_ok(&[&base[..], &[image.as_str()]].concat());
    assert_eq!(out, "from-cmd\n");
    let out = hoist_ok(
        &[
            &base[..],
            &[
                image.as_str(),
                "/bin/sh",
                "-c",
                "id -u; id -g; pwd; cat /etc/motd; echo $HOME",
            ],
        ]
        .concat(),
    );
    assert_eq!(out, "1000\n1000\n/\nnew motd\n/home/app\n");
    let o = hoist(&[&base[..], &[image.as_str(), "/bin/sh", "-c", "exit 7"]].concat());
    assert_eq!(
        o.status.code(),
        Some(7),
        "exit status is passed through: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // --host-network: the host's name resolution is visible.
    let hb = [
        "--root",
        s(&root),
        "-q",
        "run",
        "--rm",
        "--runtime",
        runtime,
        "--host-network",
        "--copy",
    ];
    let out = hoist_ok(&[&hb[..], &[image.as_str(), "/bin/cat", "/etc/hosts"]].concat());
    assert_eq!(
        out,
        std::fs::read_to_string("/etc/hosts").expect("host /etc/hosts")
    );
    // --rm: no bundle, no mount left behind.
    assert!(files_under(&root.join("containers")).is_empty());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(s(&root.join("containers"))),
        "overlay left mounted"
    );
}
