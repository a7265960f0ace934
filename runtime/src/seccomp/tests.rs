//! Kernel-enforced tests: each filter is installed in a child process
//! (`pre_exec`, allocation-free) which then either execs /bin/busybox or
//! runs a small "probe" of raw syscalls and `_exit`s with the result.

use super::Filter;
use oci_spec::runtime::LinuxSeccomp;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Output, Stdio};

const DOCKER_LIKE: &str = include_str!("testdata/docker-like.json");

fn compile(json: &str) -> Filter {
    let profile: LinuxSeccomp = serde_json::from_str(json).expect("test profile parses");
    Filter::compile(&profile).expect("test profile compiles")
}

/// `pre_exec` hook: install the precompiled filter, nothing else.
fn install_hook(cmd: &mut Command, filter: &Filter) {
    let filter = filter.clone();
    // SAFETY: the hook only calls `install_raw`, which does not allocate
    // and makes one syscall: async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            filter
                .install_raw()
                .map(drop)
                .map_err(io::Error::from_raw_os_error)
        });
    }
}

fn busybox(filter: &Filter, args: &[&str]) -> Output {
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(args);
    install_hook(&mut cmd, filter);
    cmd.output().expect("spawn busybox")
}

/// Runs `probe` in a forked child after installing `filter`; the child
/// `_exit`s with the probe's result and never execs.
fn probe<F>(filter: &Filter, mut probe: F) -> ExitStatus
where
    F: FnMut() -> i32 + Send + Sync + 'static,
{
    let filter = filter.clone();
    let mut cmd = Command::new("/bin/true");
    // SAFETY: the hook installs the filter (allocation-free), runs the
    // probe (raw syscalls only) and `_exit`s: all async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if let Err(e) = filter.install_raw() {
                libc::_exit(100 + e.min(99));
            }
            libc::_exit(probe())
        });
    }
    cmd.status().expect("spawn probe child")
}

/// A raw syscall's result as an exit code: the value (<200) or 200+errno.
fn result_code(ret: libc::c_long) -> i32 {
    if ret < 0 {
        // SAFETY: reading the calling thread's errno.
        200 + unsafe { *libc::__errno_location() }.min(55)
    } else {
        ret.min(199) as i32
    }
}

fn umask_raw(arg: u64) -> i32 {
    // SAFETY: umask takes one integer and touches no memory.
    result_code(unsafe { libc::syscall(libc::SYS_umask, arg) })
}

/// A 32-bit (i386) syscall through `int 0x80`; returns eax.
fn int80(nr: u32, arg: u32) -> i32 {
    let ret: i32;
    // SAFETY: int 0x80 runs the i386 syscall `nr` with one integer argument;
    // the probes only use syscalls that touch no memory (getpid, umask).
    unsafe {
        // rbx belongs to LLVM: save it around the call.
        std::arch::asm!(
            "mov {saved}, rbx",
            "mov ebx, {arg:e}",
            "int 0x80",
            "mov rbx, {saved}",
            saved = out(reg) _,
            arg = in(reg) arg,
            inlateout("eax") nr as i32 => ret,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
        );
    }
    ret
}

fn exit_code(status: ExitStatus) -> Option<i32> {
    status.code()
}

fn sigsys(status: ExitStatus) -> bool {
    status.signal() == Some(libc::SIGSYS)
}

struct TempDir(std::path::PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("berth-seccomp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn errno_action_makes_busybox_mkdir_fail_with_eperm() {
    let dir = TempDir::new("mkdir");
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let out = busybox(&f, &["mkdir", &dir.path("denied")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(!dir.0.join("denied").exists());
    // Other syscalls still work under the same filter.
    let out = busybox(&f, &["touch", &dir.path("allowed")]);
    assert!(out.status.success(), "{out:?}");
    assert!(dir.0.join("allowed").exists());
}

#[test]
fn errno_ret_is_the_errno_returned() {
    let dir = TempDir::new("errnoret");
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":28}]}"#,
    );
    let out = busybox(&f, &["mkdir", &dir.path("x")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

#[test]
fn default_errno_ret_applies_to_unlisted_syscalls() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":33,
            "syscalls":[{"names":["exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(exit_code(probe(&f, || umask_raw(0o22))), Some(200 + 33));
}

#[test]
fn kill_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
    ] {
        let f = compile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["umask"],"action":"{action}"}}]}}"#
        ));
        let status = probe(&f, || umask_raw(0o22));
        assert!(sigsys(status), "{action}: {status:?}");
    }
    let f = compile(r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS"}"#);
    let out = busybox(&f, &["true"]);
    assert!(sigsys(out.status), "{:?}", out.status);
}

static TRAPPED_SYSCALL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // siginfo for SIGSYS: si_syscall is the int at byte 24 (after signo,
    // errno, code, padding and the call address).
    // SAFETY: the kernel passes a valid siginfo_t, which is larger than 28 bytes.
    let nr = unsafe { *(info as *const u8).add(24).cast::<i32>() };
    TRAPPED_SYSCALL.store(nr, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn trap_delivers_sigsys_naming_the_syscall() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_TRAP"}]}"#,
    );
    // Without a handler the process dies of the signal.
    assert!(sigsys(probe(&f, || umask_raw(0o22))));
    // With one, the handler sees the trapped syscall and the call fails.
    let status = probe(&f, || {
        // SAFETY: installing a plain handler in the single-threaded child.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigsys as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
        }
        umask_raw(0o22);
        if TRAPPED_SYSCALL.load(std::sync::atomic::Ordering::SeqCst) == libc::SYS_umask as i32 {
            50
        } else {
            1
        }
    });
    assert_eq!(
        exit_code(status),
        Some(50),
        "the handler saw the trapped umask"
    );
}

#[test]
fn log_allows_the_syscall() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_LOG"}]}"#,
    );
    let status = probe(&f, || {
        umask_raw(0o22);
        umask_raw(0o77) // returns the previous mask
    });
    assert_eq!(exit_code(status), Some(0o22));
}

#[test]
fn trace_without_a_tracer_fails_with_enosys() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_TRACE","errnoRet":7}]}"#,
    );
    assert_eq!(
        exit_code(probe(&f, || umask_raw(0o22))),
        Some(200 + libc::ENOSYS)
    );
}

/// Every operator, with values on both sides of the 32-bit boundary: the
/// kernel's verdict (through the generated BPF) equals plain 64-bit math.
#[test]
fn every_argument_operator_is_enforced_by_the_kernel() {
    let values: [u64; 5] = [0o22, 0o23, 0xffff_ffff, 0x1_0000_0022, u64::MAX];
    let ops = [
        (
            "SCMP_CMP_NE",
            (|a: u64, v: u64| a != v) as fn(u64, u64) -> bool,
        ),
        ("SCMP_CMP_LT", |a, v| a < v),
        ("SCMP_CMP_LE", |a, v| a <= v),
        ("SCMP_CMP_EQ", |a, v| a == v),
        ("SCMP_CMP_GE", |a, v| a >= v),
        ("SCMP_CMP_GT", |a, v| a > v),
    ];
    let rule_value = 0x1_0000_0022u64;
    for (op, holds) in ops {
        let f = compile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["umask"],"action":"SCMP_ACT_ERRNO",
               "errnoRet":42,"args":[{{"index":0,"op":"{op}","value":{rule_value}}}]}}]}}"#
        ));
        for arg in values {
            let got = exit_code(probe(&f, move || umask_raw(arg)));
            let denied = got == Some(200 + 42);
            assert_eq!(denied, holds(arg, rule_value), "{op} arg {arg:#x}: {got:?}");
        }
    }
    // MASKED_EQ: (arg & value) == valueTwo, on both halves.
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_ERRNO",
           "errnoRet":42,"args":[{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":4294967298,"valueTwo":4294967296}]}]}"#,
    );
    for (arg, denied) in [
        (0x1_0000_0000u64, true),
        (0x1_0000_0011, true),
        (0x1_0000_0002, false),
        (0x0_0000_0000, false),
        (0x3_0000_0001, true),
    ] {
        let got = exit_code(probe(&f, move || umask_raw(arg)));
        assert_eq!(
            got == Some(200 + 42),
            denied,
            "MASKED_EQ arg {arg:#x}: {got:?}"
        );
    }
}

/// libseccomp semantics for several rules on one syscall: the first
/// matching conditional rule wins, the unconditional one applies otherwise.
#[test]
fn rules_for_one_syscall_combine_like_libseccomp() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":11,"args":[{"index":0,"op":"SCMP_CMP_EQ","value":1}]},
            {"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":12},
            {"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"op":"SCMP_CMP_LE","value":2}]},
            {"names":["umask"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_EQ","value":3}]}]}"#,
    );
    // Some(errno) when denied, None when allowed.
    for (arg, want) in [
        (1, Some(11)),
        (2, Some(13)),
        (0, Some(13)),
        (3, None),
        (4, Some(12)),
    ] {
        let got = exit_code(probe(&f, move || umask_raw(arg))).map(|c| c - 200);
        assert_eq!(got.filter(|e| *e >= 0), want, "arg {arg}");
    }
}

fn ia32_emulation_works() -> bool {
    // Without a filter, an i386 getpid must return our pid.
    let status = probe(
        &compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"]}"#),
        || {
            // SAFETY: getpid has no side effects.
            let pid = unsafe { libc::getpid() };
            i32::from(int80(20, 0) == pid)
        },
    );
    exit_code(status) == Some(1)
}

#[test]
fn int80_syscall_is_killed_under_an_x86_64_only_profile() {
    assert!(
        ia32_emulation_works(),
        "the kernel must run i386 syscalls (ia32_emulation)"
    );
    let f = compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}"#);
    let status = probe(&f, || int80(20, 0));
    assert!(sigsys(status), "{status:?}");
}

#[test]
fn int80_syscall_follows_the_x86_rules() {
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
           "syscalls":[{"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":9,
                        "args":[{"index":0,"op":"SCMP_CMP_EQ","value":18}]}]}"#,
    );
    // i386 umask is 60; EBADF (9) comes back as -9 in eax.
    assert_eq!(exit_code(probe(&f, || -int80(60, 18))), Some(9));
    assert_eq!(exit_code(probe(&f, || int80(60, 19).min(0) + 50)), Some(50));
    // The 64-bit umask follows the same rule.
    assert_eq!(exit_code(probe(&f, || umask_raw(18))), Some(209));
}

#[test]
fn x32_numbered_syscalls_are_checked_as_x32() {
    let x32_getpid = 0x4000_0000 | libc::SYS_getpid;
    // SAFETY: getpid with the x32 bit touches no memory (ENOSYS if x32 is off).
    let x32_call = move || result_code(unsafe { libc::syscall(x32_getpid) });
    let f = compile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    assert!(
        sigsys(probe(&f, x32_call)),
        "x32 call slipped past an x86_64-only filter"
    );
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
           "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
    );
    assert_eq!(exit_code(probe(&f, x32_call)), Some(205));
}

/// Child side of the notify test: sends the listener fd over `sock` with
/// SCM_RIGHTS (stack buffers only), then makes the notified call.
fn send_fd_raw(sock: i32, fd: i32) -> bool {
    #[repr(C, align(8))]
    struct Buf([u8; 64]);
    let mut cbuf = Buf([0; 64]);
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: msghdr and cmsg point into live stack buffers sized with
    // CMSG_SPACE; sendmsg only reads them.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
        libc::sendmsg(sock, &msg, 0) == 1
    }
}

fn recv_fd(sock: &UnixStream) -> OwnedFd {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [io::IoSliceMut::new(&mut byte)];
    let mut cmsg = nix::cmsg_space!([i32; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: SCM_RIGHTS gave us a new descriptor we now own.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

/// Receives one notification on `listener` and fails it with `error` (-errno).
fn answer_one(listener: &OwnedFd, error: i32) -> (i32, u32) {
    // SAFETY: zeroed plain-data structs, filled by the ioctls.
    unsafe {
        let mut req: libc::seccomp_notif = std::mem::zeroed();
        let r = libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut req,
        );
        assert_eq!(r, 0, "NOTIF_RECV: {}", io::Error::last_os_error());
        let mut resp: libc::seccomp_notif_resp = std::mem::zeroed();
        resp.id = req.id;
        resp.val = 0;
        resp.error = error;
        let r = libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp,
        );
        assert_eq!(r, 0, "NOTIF_SEND: {}", io::Error::last_os_error());
        (req.data.nr, req.pid)
    }
}

/// The full NOTIFY path: the child installs the filter and hands the
/// listener to the runtime side, then execs busybox mkdir; `send_to_listener`
/// forwards the listener with the container process state to an agent,
/// which answers the mkdir with an errno of its choosing.
#[test]
fn notify_hands_the_listener_to_an_agent_that_answers() {
    let dir = TempDir::new("notify");
    let f = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","listenerMetadata":"meta-1",
           "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
           "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(f.uses_notify());
    let (runtime_end, child_end) = UnixStream::pair().expect("socketpair");
    let child_sock = child_end.as_raw_fd();
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["mkdir", &dir.path("notified")]);
    let filter = f.clone();
    // SAFETY: install (allocation-free) and sendmsg from stack buffers:
    // async-signal-safe. The notified mkdir happens after exec, so spawn
    // (which waits for the exec) returns before anyone must answer.
    unsafe {
        cmd.pre_exec(move || {
            let fd = match filter.install_raw() {
                Ok(Some(fd)) => fd,
                Ok(None) => return Err(io::Error::from_raw_os_error(libc::EBADF)),
                Err(e) => return Err(io::Error::from_raw_os_error(e)),
            };
            if !send_fd_raw(child_sock, fd.as_raw_fd()) {
                return Err(io::Error::from_raw_os_error(libc::EPIPE));
            }
            Ok(())
        });
    }
    let child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn notify child");
    drop(child_end);
    let notify_fd = recv_fd(&runtime_end);

    // Runtime -> agent, as the lead's init will do for listenerPath.
    let (agent_end, runtime_conn) = UnixStream::pair().expect("socketpair");
    let state = br#"{"ociVersion":"1.3.0","id":"c1","status":"creating","pid":77,"bundle":"/b"}"#;
    let msg = super::process_state_json(child.id() as i32, Some("meta-1"), state).expect("state");
    super::send_to_listener(&runtime_conn, std::os::fd::AsFd::as_fd(&notify_fd), &msg)
        .expect("send to listener");
    drop(runtime_conn);
    drop(notify_fd);

    // Agent: read the state and the fd, then answer.
    let agent_fd = recv_fd(&agent_end);
    let mut rest = Vec::new();
    (&agent_end).read_to_end(&mut rest).expect("read state");
    // recv_fd consumed the first byte of the JSON.
    let json = [b"{".as_slice(), &rest].concat();
    let v: serde_json::Value = serde_json::from_slice(&json).expect("state is JSON");
    assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(v["metadata"], "meta-1");
    assert_eq!(v["pid"], child.id());
    assert_eq!(v["state"]["id"], "c1");
    assert_eq!(v["ociVersion"], "1.3.0");

    let (nr, pid) = answer_one(&agent_fd, -libc::EXDEV);
    assert!(
        [libc::SYS_mkdir, libc::SYS_mkdirat].contains(&i64::from(nr)),
        "notified syscall {nr}"
    );
    assert_eq!(pid, child.id());
    let out = child.wait_with_output().expect("wait child");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cross-device"),
        "the child saw the agent's answer: {stderr}"
    );
    assert!(
        !dir.0.join("notified").exists(),
        "the agent answered; no mkdir ran"
    );
}

#[test]
fn docker_like_profile_runs_busybox_file_io_and_tcp() {
    let f = compile(DOCKER_LIKE);
    let dir = TempDir::new("docker");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut got = String::new();
        conn.read_to_string(&mut got).expect("read");
        got
    });
    let script = format!(
        "set -e; cd {d}; mkdir sub; echo hello > sub/f; cat sub/f sub/f > g; \
         test \"$(wc -l < g)\" = 2; ls -l sub | grep -q f; rm -r sub; \
         echo over-tcp | busybox nc 127.0.0.1 {port}; echo done",
        d = dir.0.display()
    );
    let out = busybox(&f, &["sh", "-c", &script]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
    assert_eq!(server.join().expect("server thread").trim(), "over-tcp");
    // And what the profile denies stays denied.
    let out = busybox(&f, &["sh", "-c", "unshare -m true"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

/// The personality rules of the Docker-shaped profile: only the listed
/// values pass; clone with namespace flags is refused.
#[test]
fn docker_like_profile_enforces_personality_and_clone_args() {
    let f = compile(DOCKER_LIKE);
    // SAFETY: personality(0xffffffff) only queries the current persona.
    let query = || result_code(unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) });
    assert_eq!(exit_code(probe(&f, query)), Some(0));
    // SAFETY: sets a persona in the throwaway child.
    let addr_no_randomize =
        || result_code(unsafe { libc::syscall(libc::SYS_personality, 0x0040000u64) });
    assert_eq!(
        exit_code(probe(&f, addr_no_randomize)),
        Some(200 + libc::EPERM)
    );
    let clone_newns = || {
        // SAFETY: clone with a NULL stack behaves like fork; the child exits at once.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone,
                libc::CLONE_NEWNS | libc::SIGCHLD,
                0,
                0,
                0,
                0,
            )
        };
        if r == 0 {
            // SAFETY: leaving the cloned child immediately.
            unsafe { libc::_exit(0) };
        }
        result_code(r)
    };
    assert_eq!(exit_code(probe(&f, clone_newns)), Some(200 + libc::EPERM));
    // clone3 is answered with ENOSYS so that libc falls back to clone.
    // SAFETY: clone3 with a NULL args pointer fails before touching memory.
    let clone3 = || result_code(unsafe { libc::syscall(libc::SYS_clone3, 0, 0) });
    assert_eq!(exit_code(probe(&f, clone3)), Some(200 + libc::ENOSYS));
}

const CHILD_MODE: &str = "BERTH_SECCOMP_TEST_CHILD";

/// Threads and file I/O: run unfiltered here, and re-run under the
/// Docker-shaped profile by `docker_like_profile_runs_threads`.
#[test]
fn threads_and_file_io_workload() {
    let dir = TempDir::new(&format!("threads-{}", std::env::var(CHILD_MODE).is_ok()));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let path = dir.0.join(format!("t{i}"));
            std::thread::spawn(move || {
                std::fs::write(&path, format!("thread {i}")).expect("write");
                std::fs::read_to_string(&path).expect("read")
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().expect("thread"), format!("thread {i}"));
    }
    if std::env::var(CHILD_MODE).is_ok() {
        let mut out = io::stdout();
        writeln!(out, "workload-ok").expect("stdout");
    }
}

#[test]
fn docker_like_profile_runs_threads() {
    let f = compile(DOCKER_LIKE);
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "seccomp::tests::threads_and_file_io_workload",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, "1")
    .stdin(Stdio::null());
    install_hook(&mut cmd, &f);
    let out = cmd.output().expect("re-exec test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("workload-ok"), "{stdout}");
}

#[test]
fn install_reports_a_rejected_filter() {
    // SECCOMP_FILTER_FLAG_TSYNC with a listener needs TSYNC_ESRCH; compile
    // adds it, so ask the kernel directly for a combination it refuses.
    let err = super::install::set_filter(&[], 0).expect_err("empty program");
    assert_eq!(err, libc::EINVAL);
    let msg = super::install::describe_failure(libc::EACCES, 0);
    assert!(msg.contains("noNewPrivileges"), "{msg}");
}

/// Ranges of neighbouring syscalls share one leaf: the 360-name allow list
/// over three ABIs stays far below the kernel's 4096-instruction limit.
#[test]
fn docker_like_profile_compiles_compactly() {
    let f = compile(DOCKER_LIKE);
    let n = f.program().len();
    eprintln!("docker-like profile: {n} BPF instructions");
    assert!(n < 1000, "{n} instructions");
}
