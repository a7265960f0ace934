//! TLS (self-signed CA), basic auth (htpasswd, bcrypt) and bearer tokens, against a
//! real registry; `hoist login` / `logout` in docker config.json format.

mod common;

use common::images::{self, Cfg};
use common::servers::{Auth, Registry, TokenServer};
use common::*;

fn push_small_image(reg: &Registry, repo: &str, creds: Option<&str>) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("tmp");
    let layout = work.path().join("layout");
    images::write_layout(
        &layout,
        "v1",
        &[images::busybox_layer(work.path()), images::change_layer()],
        &Cfg::default(),
    );
    let extra: Vec<String> = creds
        .map(|c| vec![format!("--dest-creds={c}")])
        .unwrap_or_default();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    images::skopeo_push(&layout, "v1", &format!("{}/{repo}:v1", reg.addr), &extra);
    work
}

#[test]
fn tls_registry_needs_the_ca_or_tls_verify_false() {
    let reg = Registry::start(true, Auth::None);
    let work = push_small_image(&reg, "tls/app", None);
    let root = work.path().join("store");
    let image = format!("{}/tls/app:v1", reg.addr);
    let e = hoist_err(&["--root", s(&root), "-q", "pull", &image]);
    assert!(
        e.to_lowercase().contains("certificate") || e.contains("UnknownIssuer"),
        "{e}"
    );
    assert!(files_under(&root.join("blobs")).is_empty());
    let ca = reg.ca.clone().expect("ca");
    hoist_ok(&[
        "--root",
        s(&root),
        "-q",
        "--ca-file",
        s(&ca),
        "pull",
        &image,
    ]);
    let root2 = work.path().join("store2");
    hoist_ok(&[
        "--root",
        s(&root2),
        "-q",
        "--tls-verify=false",
        "pull",
        &image,
    ]);
    assert!(hoist_ok(&["--root", s(&root2), "images"]).contains(&image));
}

#[test]
fn basic_auth_needs_login_and_rejects_a_bad_password() {
    let reg = Registry::start(false, Auth::Basic("alice", "wonderland"));
    let work = push_small_image(&reg, "priv/app", Some("alice:wonderland"));
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let authfile = work.path().join("auth/config.json");
    let image = format!("{}/priv/app:v1", reg.addr);
    let g = [
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "--authfile",
        s(&authfile),
        "-q",
    ];

    let e = hoist_err(&[&g[..], &["pull", &image]].concat());
    assert!(e.contains("requires a login"), "{e}");
    let e = hoist_err(&[&g[..], &["login", &reg.addr, "-u", "alice", "-p", "wrong"]].concat());
    assert!(e.contains("authentication failed"), "{e}");
    assert!(!authfile.exists(), "a rejected login must not be stored");

    // A stored bad password: a 401 is a clear error and leaves nothing behind.
    std::fs::create_dir_all(authfile.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &authfile,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"YWxpY2U6d3Jvbmc="}}}}}}"#,
            reg.addr
        ),
    )
    .expect("write");
    let e = hoist_err(&[&g[..], &["pull", &image]].concat());
    assert!(e.contains("credentials were rejected"), "{e}");
    assert!(
        files_under(&root.join("blobs")).is_empty() && files_under(&root.join("tmp")).is_empty()
    );

    hoist_ok(
        &[
            &g[..],
            &["login", &reg.addr, "-u", "alice", "-p", "wonderland"],
        ]
        .concat(),
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&authfile).expect("authfile")).expect("json");
    assert_eq!(cfg["auths"][&reg.addr]["auth"], "YWxpY2U6d29uZGVybGFuZA==");
    hoist_ok(&[&g[..], &["pull", &image]].concat());
    hoist_ok(&[&g[..], &["logout", &reg.addr]].concat());
    let e = hoist_err(&[&g[..], &["logout", &reg.addr]].concat());
    assert!(e.contains("not logged in"), "{e}");
}

#[test]
fn docker_config_json_in_home_is_read() {
    let reg = Registry::start(false, Auth::Basic("bob", "builder"));
    let work = push_small_image(&reg, "home/app", Some("bob:builder"));
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let home = work.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).expect("mkdir");
    std::fs::write(
        home.join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"http://{}":{{"auth":"Ym9iOmJ1aWxkZXI="}}}}}}"#,
            reg.addr
        ),
    )
    .expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "--root",
            s(&root),
            "--registry-config",
            s(&conf),
            "-q",
            "pull",
            &format!("{}/home/app:v1", reg.addr),
        ])
        .env("HOME", &home)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn bearer_token_is_fetched_with_scope_and_reused() {
    let tokens = TokenServer::start("carol", "secret");
    let reg = Registry::start(
        false,
        Auth::Token {
            realm: tokens.realm(),
            cert: tokens.cert.clone(),
        },
    );
    let work = push_small_image(&reg, "tok/app", Some("carol:secret"));
    let root = work.path().join("store");
    let conf = insecure_config(work.path(), &reg.addr);
    let authfile = work.path().join("auth.json");
    let image = format!("{}/tok/app:v1", reg.addr);
    let g = [
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "--authfile",
        s(&authfile),
        "-q",
    ];

    let e = hoist_err(&[&g[..], &["pull", &image]].concat());
    assert!(e.contains("token server answered 401"), "{e}");
    hoist_ok(&[&g[..], &["login", &reg.addr, "-u", "carol", "-p", "secret"]].concat());
    let before = tokens.issued.load(std::sync::atomic::Ordering::SeqCst);
    hoist_ok(&[&g[..], &["pull", &image]].concat());
    let used = tokens.issued.load(std::sync::atomic::Ordering::SeqCst) - before;
    // Manifest, config and two layers: one token, reused for every request.
    assert_eq!(used, 1, "expected one token for the whole pull");
    let rootfs = work.path().join("rootfs");
    hoist_ok(&["--root", s(&root), "unpack", &image, s(&rootfs)]);
    assert!(rootfs.join("bin/busybox").exists());

    // Push with a cross-repository mount: the challenge asks for two scopes at once.
    let dest = format!("{}/tok/other:v2", reg.addr);
    let o = hoist(&[
        "--root",
        s(&root),
        "--registry-config",
        s(&conf),
        "--authfile",
        s(&authfile),
        "push",
        &image,
        &dest,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.matches("mounted").count() == 3,
        "{err}"
    );
    let mut c = std::process::Command::new("skopeo");
    c.args(["inspect", "--tls-verify=false", "--creds", "carol:secret"])
        .arg(format!("docker://{dest}"));
    run_ok(&mut c);
}
