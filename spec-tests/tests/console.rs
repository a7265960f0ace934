//! process.terminal with --console-socket, process.consoleSize, /dev/console.

use serde_json::{json, Value};
use spec_tests::console::console_reader;
use spec_tests::report::device;
use spec_tests::{unique_id, Bundle, Out, Runtime, TempDir};
use std::os::unix::net::UnixListener;

/// Creates and starts `bundle` with a terminal via --console-socket; returns
/// the output of `create` and everything the container wrote to the pty.
fn run_on_console(rt: &Runtime, b: &mut Bundle) -> (Out, String) {
    b.config["process"]["terminal"] = true.into();
    let sock_dir = TempDir::new("consock");
    let sock = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let reader = console_reader(listener);
    // create + start, the way managers use a console socket.
    let id = unique_id("tty");
    let out = rt.create(&id, b, &["--console-socket", &sock.to_string_lossy()]);
    if out.code == Some(0) {
        rt.exec(&["start", &id]).ok();
    } else {
        // Unblock the accept so the reader thread ends.
        let _ = std::os::unix::net::UnixStream::connect(&sock);
    }
    let text = reader.join().expect("console reader");
    (out, text)
}

fn console_json(out: &Out, text: &str) -> Value {
    let line = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON on the console: {text:?}\n{out}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[test]
fn terminal_process_has_a_pty_on_its_stdio() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let (out, text) = run_on_console(&rt, &mut b);
    out.ok();
    let r = console_json(&out, &text);
    assert_eq!(
        r["tty"]["isatty"],
        json!([true, true, true]),
        "{}",
        r["tty"]
    );
    assert!(
        r["tty"]["stdin"]
            .as_str()
            .is_some_and(|s| s.starts_with("/dev/pts/")),
        "{}",
        r["tty"]
    );
}

#[test]
fn terminal_process_is_a_session_leader_with_the_pty_as_controlling_terminal() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let (out, text) = run_on_console(&rt, &mut b);
    out.ok();
    let r = console_json(&out, &text);
    assert_eq!(r["tty"]["sid"], r["pid"], "{}", r["tty"]);
    assert_eq!(r["tty"]["foreground_pgrp"], r["pid"], "{}", r["tty"]);
}

#[test]
fn console_size_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["consoleSize"] = json!({"height": 40, "width": 100});
    let (out, text) = run_on_console(&rt, &mut b);
    out.ok();
    let r = console_json(&out, &text);
    assert_eq!(r["tty"]["size"], json!({"rows": 40, "cols": 100}));
}

#[test]
fn dev_console_is_the_pty() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    let (out, text) = run_on_console(&rt, &mut b);
    out.ok();
    let r = console_json(&out, &text);
    let c = device(&r, "/dev/console").expect("/dev/console");
    assert_eq!(c["type"], "c", "{c}");
    assert_eq!(c["major"], 136, "{c}");
}

#[test]
fn create_with_terminal_and_no_console_socket_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&["sleep"]);
    b.config["process"]["terminal"] = true.into();
    let id = unique_id("nosock");
    let out = rt.create(&id, &b, &[]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(rt.state(&id).is_none(), "container created");
}

#[test]
fn run_with_terminal_and_no_console_socket_relays_the_pty() {
    let rt = Runtime::new();
    let mut b = Bundle::checker(&[]);
    b.config["process"]["terminal"] = true.into();
    let out = rt.run(&unique_id("relay"), &b, &[]);
    out.ok();
    let r = console_json(&out, &out.stdout);
    assert_eq!(
        r["tty"]["isatty"],
        json!([true, true, true]),
        "{}",
        r["tty"]
    );
}

#[test]
fn exec_tty_sends_a_pty_to_the_console_socket() {
    let rt = Runtime::new();
    let b = Bundle::checker(&["sleep"]);
    let id = unique_id("exectty");
    rt.create(&id, &b, &[]).ok();
    rt.start_ready(&id, &b, 1);
    let sock_dir = TempDir::new("execsock");
    let sock = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let reader = console_reader(listener);
    let out = rt.exec(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        &sock.to_string_lossy(),
        &id,
        "/checker",
    ]);
    if out.code != Some(0) {
        let _ = std::os::unix::net::UnixStream::connect(&sock);
    }
    let text = reader.join().expect("console reader");
    out.ok();
    let r = console_json(&out, &text);
    assert_eq!(
        r["tty"]["isatty"],
        json!([true, true, true]),
        "{}",
        r["tty"]
    );
}
