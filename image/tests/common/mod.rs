//! Test fixtures: a real `docker-registry` on 127.0.0.1, locally made images pushed
//! with skopeo, and helpers to run the hoist binary.
#![allow(dead_code)]

pub mod images;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the hoist binary with `args`.
pub fn hoist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("DOCKER_CONFIG")
        .output()
        .expect("run hoist")
}

/// Runs hoist and asserts success; returns stdout.
pub fn hoist_ok(args: &[&str]) -> String {
    let o = hoist(args);
    assert!(
        o.status.success(),
        "hoist {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs hoist, asserts failure, returns stderr.
pub fn hoist_err(args: &[&str]) -> String {
    let o = hoist(args);
    assert!(!o.status.success(), "hoist {args:?} unexpectedly succeeded");
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        e.trim_end().lines().count(),
        1,
        "expected one error line, got: {e}"
    );
    e
}

/// Runs a command, asserting success.
pub fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A temp dir path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file under `dir` (relative paths), to check nothing half-written remains.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).map(Path::to_path_buf).unwrap_or(p));
            }
        }
    }
    out.sort();
    out
}

/// A registry config file marking `hostport` insecure (plain HTTP).
pub fn insecure_config(dir: &Path, hostport: &str) -> PathBuf {
    let p = dir.join("registries.json");
    std::fs::write(
        &p,
        format!(r#"{{"registries":{{"{hostport}":{{"insecure":true}}}}}}"#),
    )
    .expect("write config");
    p
}
