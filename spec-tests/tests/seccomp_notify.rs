//! `linux.seccomp.listenerPath` (runtime-spec 1.3, SCMP_ACT_NOTIFY): berth
//! hands the notify descriptor and the container process state to an agent,
//! which answers the container's syscalls. The agent here is the test.

use serde_json::{json, Value};
use spec_tests::{unique_id, Bundle, Runtime, TempDir};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

/// struct seccomp_notif (linux/seccomp.h).
#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}

/// struct seccomp_notif_resp.
#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// Receives the agent message: the JSON state and the notify fd.
fn receive(stream: &UnixStream) -> (Value, OwnedFd) {
    let mut data = vec![0u8; 64 * 1024];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain old data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers sized as declared.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: msg was filled by recvmsg; CMSG_FIRSTHDR reads within msg_control.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    // SAFETY: null-checked first; the header lies inside `control`.
    assert!(!cmsg.is_null() && unsafe { (*cmsg).cmsg_type } == libc::SCM_RIGHTS);
    // SAFETY: an SCM_RIGHTS payload holds at least one int.
    let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::c_int) };
    // SAFETY: the kernel just installed this fd for us.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let v = serde_json::from_slice(&data[..n as usize]).expect("the state is JSON");
    (v, fd)
}

/// Answers every notification on `fd` with `-errno` until the fd closes.
fn answer_all(fd: &OwnedFd, errno: i32) -> usize {
    let mut answered = 0;
    loop {
        let mut n = Notif::default();
        // SAFETY: NOTIF_RECV fills a struct seccomp_notif we own.
        if unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, &mut n) } < 0 {
            return answered; // the container exited: the filter is gone
        }
        let resp = NotifResp {
            id: n.id,
            val: 0,
            error: -errno,
            flags: 0,
        };
        // SAFETY: NOTIF_SEND reads the response struct.
        unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, &resp) };
        answered += 1;
    }
}

#[test]
fn notify_agent_receives_the_state_and_answers_the_container_syscalls() {
    let dir = TempDir::new("agent");
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind the agent socket");
    listener.set_nonblocking(true).expect("nonblocking");
    let id = unique_id("notify");
    let agent = std::thread::spawn(move || {
        // A hang guard, not a timing assertion.
        let deadline = Instant::now() + Duration::from_secs(60);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("no connection from the runtime: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        let (state, fd) = receive(&stream);
        let answered = answer_all(&fd, libc::EXDEV);
        (state, answered)
    });
    let rt = Runtime::new();
    let mut b = Bundle::with_args(&["mkdir", "/tmp/made-by-the-container"]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "agent-metadata",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let out = rt.run(&id, &b, &[]);
    let (state, answered) = agent.join().expect("agent");
    assert_ne!(out.code, Some(0), "mkdir should have failed: {out}");
    assert!(
        out.stderr.contains("cross-device"),
        "the agent's errno: {out}"
    );
    assert!(answered >= 1, "no notification reached the agent");
    assert!(!b.rootfs().join("tmp/made-by-the-container").exists());
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "agent-metadata", "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert!(state["pid"].as_i64().unwrap_or(0) > 0, "{state}");
    assert!(state["ociVersion"].is_string(), "{state}");
}
