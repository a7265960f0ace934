//! The checker: a static binary that runs as the container process and prints
//! one JSON document describing what it sees (namespaces, mounts, devices,
//! credentials, capabilities, rlimits, fds, cgroup, tty...), or runs one
//! active probe given as a sub-command.
//!
//! Sub-commands (each prints one JSON line on stdout):
//! - `report` (default): the full report.
//! - `write PATH [TEXT]`, `read PATH`, `stat PATH`, `ls PATH`, `mkdir PATH`: file probes;
//!   exit 0 when the operation worked, 1 when it failed.
//! - `exit N`: exit with status N, printing nothing.
//! - `sleep [SIG]`: install handlers for every catchable signal, print
//!   `{"ready":true}` and wait; on a signal print `{"signal":N}` and exit
//!   128+N (with SIG, keep waiting until that signal arrives).
//! - `open-exe [PID...]`: try to open `/proc/self/exe` and `/proc/PID/exe`
//!   for writing, directly and through an `O_PATH` descriptor
//!   (CVE-2019-5736).
//! - `exe-watch STOPFILE TRYFILE`: until STOPFILE exists, grab an `O_PATH`
//!   descriptor on the exe of every new process (recording refusals); print
//!   `{"grab_done":N}`;
//!   once TRYFILE exists, try to reopen each for writing.
//! - `cwd-escape`: where the working directory is, and whether `..` leads
//!   outside the root (CVE-2024-21626).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sub = args.get(1).map(String::as_str).unwrap_or("report");
    let rest = if args.len() > 2 { &args[2..] } else { &[] };
    let code = match sub {
        "report" => print(report()),
        "write" => file_write(rest),
        "read" => file_read(rest),
        "stat" => file_stat(rest),
        "ls" => file_ls(rest),
        "mkdir" => file_mkdir(rest),
        "exit" => rest.first().and_then(|s| s.parse().ok()).unwrap_or(0),
        "sleep" => sleep_until_signal(rest.first().and_then(|s| s.parse().ok())),
        "open-exe" => open_exe(rest),
        "exe-watch" => exe_watch(rest),
        "cwd-escape" => cwd_escape(),
        other => {
            eprintln!("checker: unknown sub-command {other:?}");
            2
        }
    };
    std::process::exit(code);
}

/// Prints a JSON value as one line; returns exit status 0.
fn print(v: Value) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
    0
}

fn errno_json(e: &std::io::Error) -> Value {
    json!({"errno": e.raw_os_error(), "error": e.to_string()})
}

fn outcome(op: &str, path: &str, r: Result<Value, std::io::Error>) -> i32 {
    match r {
        Ok(v) => {
            let mut m = Map::new();
            m.insert("op".into(), op.into());
            m.insert("path".into(), path.into());
            m.insert("ok".into(), true.into());
            if !v.is_null() {
                m.insert("value".into(), v);
            }
            print(Value::Object(m));
            0
        }
        Err(e) => {
            let mut v = errno_json(&e);
            v["op"] = op.into();
            v["path"] = path.into();
            v["ok"] = false.into();
            print(v);
            1
        }
    }
}

fn file_write(rest: &[String]) -> i32 {
    let path = rest.first().map(String::as_str).unwrap_or("");
    let text = rest.get(1).map(String::as_str).unwrap_or("checker");
    let r = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map(|_| Value::Null);
    outcome("write", path, r)
}

fn file_read(rest: &[String]) -> i32 {
    let path = rest.first().map(String::as_str).unwrap_or("");
    let r = fs::read(path).map(|b| Value::from(String::from_utf8_lossy(&b).into_owned()));
    outcome("read", path, r)
}

fn stat_json(path: &str) -> Result<Value, std::io::Error> {
    let m = fs::symlink_metadata(path)?;
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else {
        "socket"
    };
    let mut v = json!({
        "kind": kind,
        "mode": m.mode() & 0o7777,
        "uid": m.uid(),
        "gid": m.gid(),
        "size": m.size(),
        "dev": m.dev(),
        "ino": m.ino(),
        "major": libc::major(m.rdev()),
        "minor": libc::minor(m.rdev()),
    });
    if ft.is_symlink() {
        v["target"] = fs::read_link(path)?.to_string_lossy().into_owned().into();
    }
    Ok(v)
}

fn file_stat(rest: &[String]) -> i32 {
    let path = rest.first().map(String::as_str).unwrap_or("");
    outcome("stat", path, stat_json(path))
}

fn file_ls(rest: &[String]) -> i32 {
    let path = rest.first().map(String::as_str).unwrap_or("");
    let r = fs::read_dir(path).map(|rd| {
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Value::from(names)
    });
    outcome("ls", path, r)
}

fn file_mkdir(rest: &[String]) -> i32 {
    let path = rest.first().map(String::as_str).unwrap_or("");
    outcome("mkdir", path, fs::create_dir(path).map(|_| Value::Null))
}

static SIGNALLED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, std::sync::atomic::Ordering::SeqCst);
}

/// Waits for a catchable signal (any, or `until`); as PID 1 of a pid
/// namespace only signals with a handler are delivered, so every one gets a
/// handler.
fn sleep_until_signal(until: Option<i32>) -> i32 {
    for sig in 1..=64 {
        if matches!(sig, libc::SIGKILL | libc::SIGSTOP | 32 | 33) {
            continue;
        }
        // SAFETY: installing a handler that only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    // Signals stay blocked except inside sigsuspend, so one that arrives
    // right after "ready" cannot slip in before the wait and be missed (the
    // race a plain pause() has).
    // SAFETY: sigset_t is plain data; sigfillset/sigemptyset initialise it.
    let (mut all, mut none): (libc::sigset_t, libc::sigset_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: valid sigset pointers; sigprocmask only changes our mask.
    unsafe {
        libc::sigfillset(&mut all);
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    print(json!({ "ready": true }));
    loop {
        // SAFETY: sigsuspend atomically unblocks all signals and waits for
        // one whose handler ran.
        unsafe {
            libc::sigsuspend(&none);
        }
        let sig = SIGNALLED.swap(0, std::sync::atomic::Ordering::SeqCst);
        if sig != 0 {
            print(json!({ "signal": sig }));
            if until.is_none_or(|u| u == sig) {
                return 128 + sig;
            }
        }
    }
}

fn open_flags(path: &str, flags: libc::c_int) -> Result<libc::c_int, std::io::Error> {
    let c = CString::new(path).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid NUL-terminated string; the returned fd is owned by the caller.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

fn close(fd: libc::c_int) {
    // SAFETY: fd was returned by open and is closed once.
    unsafe {
        libc::close(fd);
    }
}

/// Tries to open `path` for writing directly and through an O_PATH fd;
/// never writes a byte (a success is already the vulnerability).
fn probe_exe_write(path: &str) -> Value {
    let target = fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("error: {e}"));
    let direct = match open_flags(path, libc::O_WRONLY) {
        Ok(fd) => {
            close(fd);
            json!({"ok": true})
        }
        Err(e) => {
            let mut v = errno_json(&e);
            v["ok"] = false.into();
            v
        }
    };
    let via_opath = match open_flags(path, libc::O_PATH) {
        Ok(pfd) => {
            let r = match open_flags(&format!("/proc/self/fd/{pfd}"), libc::O_WRONLY) {
                Ok(fd) => {
                    close(fd);
                    json!({"ok": true})
                }
                Err(e) => {
                    let mut v = errno_json(&e);
                    v["ok"] = false.into();
                    v
                }
            };
            close(pfd);
            r
        }
        Err(e) => {
            let mut v = errno_json(&e);
            v["ok"] = false.into();
            v["stage"] = "O_PATH".into();
            v
        }
    };
    json!({"path": path, "target": target, "write": direct, "write_via_opath": via_opath})
}

fn open_exe(rest: &[String]) -> i32 {
    let mut probes = vec![probe_exe_write("/proc/self/exe")];
    for pid in rest {
        probes.push(probe_exe_write(&format!("/proc/{pid}/exe")));
    }
    let any_ok = probes
        .iter()
        .any(|p| p["write"]["ok"] == true || p["write_via_opath"]["ok"] == true);
    print(json!({"probes": probes, "any_writable": any_ok}));
    0
}

fn exe_watch(rest: &[String]) -> i32 {
    let stop = rest.first().map(String::as_str).unwrap_or("/stop");
    let attempt = rest.get(1).map(String::as_str).unwrap_or("/try");
    let me = std::process::id();
    // Keyed by (pid, exe target): a process that re-executes is grabbed again.
    let mut held: BTreeMap<(u32, String), libc::c_int> = BTreeMap::new();
    let mut denied: BTreeMap<u32, String> = BTreeMap::new();
    loop {
        // One last scan after the stop file appears, so a process the host
        // saw blocked is surely grabbed.
        let stopping = Path::new(stop).exists();
        grab_exes(me, &mut held, &mut denied);
        if stopping {
            break;
        }
        std::thread::yield_now();
    }
    // The exploit writes once the runtime process has exited (no ETXTBSY):
    // the host says when, by creating the second file.
    print(json!({ "grab_done": held.len() }));
    while !Path::new(attempt).exists() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut results = Vec::new();
    let mut any_ok = false;
    for ((pid, target), fd) in &held {
        let r = open_flags(&format!("/proc/self/fd/{fd}"), libc::O_WRONLY);
        let v = match r {
            Ok(w) => {
                close(w);
                any_ok = true;
                json!({"pid": pid, "target": target, "ok": true})
            }
            Err(e) => {
                let mut v = errno_json(&e);
                v["pid"] = (*pid).into();
                v["target"] = target.clone().into();
                v["ok"] = false.into();
                v
            }
        };
        results.push(v);
    }
    print(json!({"grabbed": results, "denied": denied, "any_writable": any_ok}));
    0
}

/// Opens an O_PATH fd on the exe of every process not yet held with its
/// current exe target; records why it could not, per pid.
fn grab_exes(
    me: u32,
    held: &mut BTreeMap<(u32, String), libc::c_int>,
    denied: &mut BTreeMap<u32, String>,
) {
    let Ok(rd) = fs::read_dir("/proc") else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let path = format!("/proc/{pid}/exe");
        let fd = match open_flags(&path, libc::O_PATH) {
            Ok(fd) => fd,
            Err(e) => {
                denied.insert(pid, e.to_string());
                continue;
            }
        };
        let target = fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if held.contains_key(&(pid, target.clone())) {
            close(fd);
        } else {
            held.insert((pid, target), fd);
        }
    }
}

fn cwd_escape() -> i32 {
    let getcwd = std::env::current_dir()
        .map(|p| Value::from(p.to_string_lossy().into_owned()))
        .unwrap_or_else(|e| errno_json(&e));
    let proc_cwd = fs::read_link("/proc/self/cwd")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Walk up from the cwd; if we never reach the root's (dev, ino), the cwd
    // is outside the container's root.
    let root = fs::metadata("/").ok().map(|m| (m.dev(), m.ino()));
    let mut reached_root = false;
    let mut p = String::from(".");
    for _ in 0..64 {
        match fs::metadata(&p) {
            Ok(m) if Some((m.dev(), m.ino())) == root => {
                reached_root = true;
                break;
            }
            Ok(_) => p.push_str("/.."),
            Err(_) => break,
        }
    }
    let host_marker = Path::new(&format!("{p}/../../../../../../../../etc/os-release")).exists();
    print(json!({
        "getcwd": getcwd,
        "proc_self_cwd": proc_cwd,
        "reaches_root": reached_root,
        "sees_etc_os_release_above": host_marker,
    }));
    0
}

fn read_string(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn namespaces() -> Value {
    let mut m = Map::new();
    for ns in [
        "cgroup",
        "ipc",
        "mnt",
        "net",
        "pid",
        "pid_for_children",
        "time",
        "time_for_children",
        "user",
        "uts",
    ] {
        if let Ok(meta) = fs::metadata(format!("/proc/self/ns/{ns}")) {
            m.insert(ns.into(), meta.ino().into());
        }
    }
    Value::Object(m)
}

fn mounts() -> Value {
    let text = read_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let (left, right) = match line.split_once(" - ") {
            Some(x) => x,
            None => continue,
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 {
            continue;
        }
        let propagation: Vec<&str> = l[6..].to_vec();
        out.push(json!({
            "id": l[0].parse::<u64>().unwrap_or(0),
            "parent": l[1].parse::<u64>().unwrap_or(0),
            "root": unescape(l[3]),
            "target": unescape(l[4]),
            "options": l[5].split(',').collect::<Vec<_>>(),
            "propagation": propagation,
            "fstype": r[0],
            "source": unescape(r[1]),
            "super_options": r[2].split(',').collect::<Vec<_>>(),
        }));
    }
    Value::from(out)
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn devices() -> Value {
    let mut out = Vec::new();
    walk_dev(Path::new("/dev"), 0, &mut out);
    Value::from(out)
}

fn walk_dev(dir: &Path, depth: u32, out: &mut Vec<Value>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(m) = fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = m.file_type();
        let p = path.to_string_lossy().into_owned();
        if ft.is_char_device() || ft.is_block_device() {
            out.push(json!({
                "path": p,
                "type": if ft.is_char_device() { "c" } else { "b" },
                "major": libc::major(m.rdev()),
                "minor": libc::minor(m.rdev()),
                "mode": m.mode() & 0o7777,
                "uid": m.uid(),
                "gid": m.gid(),
            }));
        } else if ft.is_symlink() {
            let target = fs::read_link(&path)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(json!({"path": p, "type": "l", "target": target}));
        } else if ft.is_dir() && depth < 3 {
            walk_dev(&path, depth + 1, out);
        }
    }
}

const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| {
            CAP_NAMES
                .get(b)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("CAP_{b}"))
        })
        .collect()
}

fn status_fields() -> BTreeMap<String, String> {
    read_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn capabilities(status: &BTreeMap<String, String>) -> Value {
    let mut m = Map::new();
    for (key, name) in [
        ("CapInh", "inheritable"),
        ("CapPrm", "permitted"),
        ("CapEff", "effective"),
        ("CapBnd", "bounding"),
        ("CapAmb", "ambient"),
    ] {
        let mask = status
            .get(key)
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .unwrap_or(0);
        m.insert(name.into(), cap_names(mask).into());
    }
    Value::Object(m)
}

fn rlimits() -> Value {
    let table: [(&str, libc::__rlimit_resource_t); 16] = [
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_RSS", libc::RLIMIT_RSS),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        ("RLIMIT_NICE", libc::RLIMIT_NICE),
        ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ];
    let mut m = Map::new();
    for (name, res) in table {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: rl is a valid, writable rlimit struct.
        if unsafe { libc::getrlimit(res, &mut rl) } == 0 {
            m.insert(
                name.into(),
                json!({"soft": rl.rlim_cur, "hard": rl.rlim_max}),
            );
        }
    }
    Value::Object(m)
}

fn fds() -> Value {
    let mut out = Vec::new();
    let dir = c"/proc/self/fd";
    // SAFETY: dir is a valid C string; the DIR* is closed below.
    let d = unsafe { libc::opendir(dir.as_ptr()) };
    if d.is_null() {
        return Value::from(out);
    }
    // SAFETY: d is a valid, open DIR*.
    let own = unsafe { libc::dirfd(d) };
    loop {
        // SAFETY: d is a valid, open DIR*; the entry is read before the next call.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is a NUL-terminated array inside the entry.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
        let Ok(fd) = name.to_string_lossy().parse::<i32>() else {
            continue;
        };
        if fd == own {
            continue;
        }
        let target = fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(json!({"fd": fd, "target": target}));
    }
    // SAFETY: d is a valid DIR* closed exactly once.
    unsafe {
        libc::closedir(d);
    }
    out.sort_by_key(|v| v["fd"].as_i64());
    Value::from(out)
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain old data; zeroed is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new());
    }
    // SAFETY: the kernel NUL-terminates both fields.
    let host = unsafe { std::ffi::CStr::from_ptr(u.nodename.as_ptr()) };
    // SAFETY: as above.
    let domain = unsafe { std::ffi::CStr::from_ptr(u.domainname.as_ptr()) };
    (
        host.to_string_lossy().into_owned(),
        domain.to_string_lossy().into_owned(),
    )
}

fn tty() -> Value {
    let mut isatty = Vec::new();
    for fd in 0..3 {
        // SAFETY: isatty accepts any fd number.
        isatty.push(unsafe { libc::isatty(fd) } == 1);
    }
    // SAFETY: winsize is plain old data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into ws, which is valid and writable.
    let size = if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
        json!({"rows": ws.ws_row, "cols": ws.ws_col})
    } else {
        Value::Null
    };
    // SAFETY: getsid and tcgetpgrp accept any arguments.
    let (sid, pgrp) = unsafe { (libc::getsid(0), libc::tcgetpgrp(0)) };
    let stdin = fs::read_link("/proc/self/fd/0")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    json!({"isatty": isatty, "size": size, "stdin": stdin, "sid": sid, "foreground_pgrp": pgrp})
}

fn report() -> Value {
    let status = status_fields();
    // SAFETY: these getters have no preconditions.
    let (uid, euid, gid, egid, pid, ppid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
            libc::getpid(),
            libc::getppid(),
        )
    };
    let mut groups = vec![0 as libc::gid_t; 256];
    // SAFETY: groups has room for 256 entries, the size we pass.
    let n = unsafe { libc::getgroups(256, groups.as_mut_ptr()) };
    groups.truncate(n.max(0) as usize);
    // SAFETY: umask is always successful; we restore the old value at once.
    let umask = unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old
    };
    // SAFETY: prctl PR_GET_NO_NEW_PRIVS takes no pointers.
    let nnp = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    // SAFETY: sched_getscheduler takes no pointers.
    let policy = unsafe { libc::sched_getscheduler(0) };
    let mut sp = libc::sched_param { sched_priority: 0 };
    // SAFETY: sp is a valid, writable sched_param.
    unsafe { libc::sched_getparam(0, &mut sp) };
    // SAFETY: getpriority takes no pointers; -1 is also a valid nice value, so errno is ignored.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    // SAFETY: ioprio_get(IOPRIO_WHO_PROCESS, 0) takes no pointers.
    let ioprio = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
    // SAFETY: personality(0xffffffff) only queries.
    let personality = unsafe { libc::personality(0xffff_ffff) };
    // KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_SESSION_KEYRING (-3), without creating one.
    // SAFETY: keyctl with integer arguments only.
    let keyring = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 0) };
    let (hostname, domainname) = uname();
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("error: {e}"));
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| {
            let mut s = k.as_bytes().to_vec();
            s.push(b'=');
            s.extend_from_slice(v.as_bytes());
            String::from_utf8_lossy(&s).into_owned()
        })
        .collect();
    let cgroup: Vec<String> = read_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let oom = read_string("/proc/self/oom_score_adj").and_then(|s| s.trim().parse::<i64>().ok());
    let seccomp = status.get("Seccomp").and_then(|s| s.parse::<i64>().ok());
    json!({
        "args": std::env::args().collect::<Vec<_>>(),
        "pid": pid,
        "ppid": ppid,
        "uid": uid,
        "euid": euid,
        "gid": gid,
        "egid": egid,
        "groups": groups,
        "umask": umask,
        "cwd": cwd,
        "env": env,
        "hostname": hostname,
        "domainname": domainname,
        "namespaces": namespaces(),
        "mounts": mounts(),
        "devices": devices(),
        "capabilities": capabilities(&status),
        "rlimits": rlimits(),
        "no_new_privs": nnp == 1,
        "dumpable": dumpable,
        "seccomp": seccomp,
        "fds": fds(),
        "cgroup": cgroup,
        "oom_score_adj": oom,
        "scheduler": {"policy": policy, "priority": sp.sched_priority, "nice": nice},
        "ioprio": ioprio,
        "personality": personality,
        "session_keyring": keyring,
        "tty": tty(),
    })
}
