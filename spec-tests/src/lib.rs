//! The spec-tests harness: temp dirs, bundles whose rootfs holds the static
//! `checker`, and a runtime handle that runs any runc-compatible binary
//! (berth by default, `BERTH_BIN=/usr/sbin/runc` to validate the tests).
//!
//! Every test gets its own `--root` directory, bundle and container ids;
//! Drop guards delete containers and remove directories (and any mount left
//! below them) even when the test panics.
//!
//! Environment: `BERTH_BIN` (the runtime; default `target/{debug,release}/berth`
//! next to the test executable) and `CHECKER_BIN` (default
//! `target/spec-tests/checker`, built by `hack/build-checker.sh` when missing
//! or older than its source). A typical test:
//!
//! ```no_run
//! use spec_tests::{Bundle, Runtime};
//! let rt = Runtime::new();
//! let mut b = Bundle::checker(&[]); // process: /checker (prints the report)
//! b.config["hostname"] = "box".into();
//! let report = rt.report(&b); // run, assert exit 0, parse the JSON
//! assert_eq!(report["hostname"], "box");
//! ```

use serde_json::{json, Value};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace's target directory, found from the test executable
/// (`target/<profile>/deps/<test>`), or `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_dir().join("target"))
}

/// The workspace root (the parent of this crate).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("spec-tests has a parent dir")
        .to_path_buf()
}

/// The runtime under test: `BERTH_BIN`, else the workspace's berth binary.
pub fn runtime_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(b) = std::env::var_os("BERTH_BIN").filter(|b| !b.is_empty()) {
            return PathBuf::from(b);
        }
        let t = target_dir();
        let candidates = [t.join("debug/berth"), t.join("release/berth")];
        let newest = candidates
            .iter()
            .filter_map(|p| Some((fs::metadata(p).ok()?.modified().ok()?, p.clone())))
            .max();
        match newest {
            Some((_, p)) => p,
            None => panic!(
                "no runtime binary: build berth (cargo build -p berth) or set BERTH_BIN, \
                 e.g. BERTH_BIN=/usr/sbin/runc"
            ),
        }
    })
    .clone()
}

/// The static checker: `CHECKER_BIN`, else `target/spec-tests/checker`,
/// built once per run (under a file lock) when missing or older than its source.
pub fn checker_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(b) = std::env::var_os("CHECKER_BIN").filter(|b| !b.is_empty()) {
            return PathBuf::from(b);
        }
        let dir = target_dir().join("spec-tests");
        fs::create_dir_all(&dir).expect("create target/spec-tests");
        let out = dir.join("checker");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("build.lock"))
            .expect("open checker build lock");
        flock(&lock);
        if checker_is_stale(&out) {
            let status = Command::new(workspace_dir().join("hack/build-checker.sh"))
                .arg(&out)
                .env("CARGO_TARGET_DIR", dir.join("build"))
                .stdout(Stdio::null())
                .status()
                .expect("run hack/build-checker.sh");
            assert!(status.success(), "hack/build-checker.sh failed: {status}");
        }
        drop(lock);
        out
    })
    .clone()
}

fn checker_is_stale(out: &Path) -> bool {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/checker.rs");
    let (Ok(o), Ok(s)) = (fs::metadata(out), fs::metadata(src)) else {
        return true;
    };
    match (o.modified(), s.modified()) {
        (Ok(o), Ok(s)) => o < s,
        _ => true,
    }
}

fn flock(f: &fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on an fd we own; the lock is released when the file closes.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(r, 0, "flock: {}", std::io::Error::last_os_error());
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique container id for this test process: `st-<tag>-<pid>-<n>`.
pub fn unique_id(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("st-{tag}-{}-{n}", std::process::id())
}

/// A temporary directory removed on drop, after detaching any mount below it.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/berth-st-<tag>-<pid>-<n>` (mode 0755).
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("berth-st-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        unmount_below(&self.path);
        if fs::remove_dir_all(&self.path).is_err() && self.path.exists() {
            // A container still running (dropped after its bundle) may be
            // writing into it; the next Runtime drop retries once the
            // containers are deleted.
            LEFTOVERS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(self.path.clone());
        }
    }
}

/// Temp dirs whose removal failed, retried by [`Runtime`]'s Drop.
static LEFTOVERS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn retry_leftovers() {
    let paths = std::mem::take(&mut *LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner()));
    for p in paths {
        unmount_below(&p);
        if fs::remove_dir_all(&p).is_err() && p.exists() {
            LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner()).push(p);
        }
    }
}

/// Mount targets of the calling process's mount namespace.
pub fn host_mount_targets() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// Host mounts whose target or root mentions `needle` (e.g. a temp dir).
pub fn host_mounts_mentioning(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

fn unmount_below(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    let mut targets: Vec<String> = host_mount_targets()
        .into_iter()
        .filter(|t| t.starts_with(&prefix))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        if let Ok(c) = std::ffi::CString::new(t) {
            // SAFETY: c is a valid C string; a detached unmount has no other effect.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

/// Busybox applets linked in every test rootfs.
const APPLETS: &[&str] = &[
    "sh", "true", "false", "cat", "echo", "ls", "sleep", "mkdir", "touch", "id", "env", "test",
    "stat", "readlink", "grep", "kill",
];

/// Fills `rootfs` with what the tests need: `/checker`, `/bin/busybox` and
/// applet links, `/etc/passwd` and `/etc/group`, and empty mount points.
pub fn populate_rootfs(rootfs: &Path) {
    for d in [
        "bin", "proc", "dev", "sys", "tmp", "etc", "root", "run", "mnt",
    ] {
        fs::create_dir_all(rootfs.join(d)).expect("mkdir in rootfs");
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))
        .expect("chmod /tmp");
    // Copies, never hard links: a container that can write its rootfs must not
    // reach the host's binaries.
    fs::copy(checker_bin(), rootfs.join("checker")).expect("copy checker");
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy busybox");
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).expect("applet link");
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n",
    )
    .expect("write passwd");
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\nuser:x:1000:\nextra:x:2000:user\n",
    )
    .expect("write group");
}

/// The default config.json, shaped like `runc spec`'s, with
/// `"terminal": false` and `process.args` as given.
pub fn default_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "spec-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// A bundle directory: `config.json` plus a `rootfs/` holding the checker.
#[derive(Debug)]
pub struct Bundle {
    dir: TempDir,
    /// The config, written by [`Bundle::write_config`] (and by the runtime helpers).
    pub config: Value,
}

impl Bundle {
    /// A bundle whose process runs `/checker` with `checker_args`.
    pub fn checker(checker_args: &[&str]) -> Bundle {
        let mut args = vec!["/checker"];
        args.extend_from_slice(checker_args);
        Bundle::with_args(&args)
    }

    /// A bundle whose process runs `args`.
    pub fn with_args(args: &[&str]) -> Bundle {
        let dir = TempDir::new("bundle");
        populate_rootfs(&dir.path().join("rootfs"));
        Bundle {
            dir,
            config: default_config(args),
        }
    }

    /// The bundle directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The rootfs directory.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Writes `config.json` from [`Bundle::config`].
    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.path().join("config.json"), text).expect("write config.json");
    }

    /// Makes the rootfs writable (`root.readonly = false`).
    pub fn writable(&mut self) -> &mut Self {
        self.config["root"]["readonly"] = false.into();
        self
    }

    /// Appends a mount to `mounts`.
    pub fn add_mount(&mut self, mount: Value) -> &mut Self {
        self.config["mounts"]
            .as_array_mut()
            .expect("mounts is an array")
            .push(mount);
        self
    }

    /// Removes the namespace of `kind` from `linux.namespaces`.
    pub fn drop_namespace(&mut self, kind: &str) -> &mut Self {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces is an array")
            .retain(|n| n["type"] != kind);
        self
    }

    /// Sets (or adds) the namespace of `kind` with `path`.
    pub fn join_namespace(&mut self, kind: &str, path: &str) -> &mut Self {
        self.drop_namespace(kind);
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces is an array")
            .push(json!({"type": kind, "path": path}));
        self
    }

    /// Where `create` sends the container's stdout.
    pub fn stdout_path(&self) -> PathBuf {
        self.path().join("container.stdout")
    }

    /// Where `create` sends the container's stderr.
    pub fn stderr_path(&self) -> PathBuf {
        self.path().join("container.stderr")
    }
}

/// What a runtime invocation produced.
#[derive(Debug)]
pub struct Out {
    /// The command line, for messages.
    pub cmdline: String,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

impl Out {
    /// Panics with the whole output unless the exit code is 0.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self}");
        self
    }

    /// The first stdout line parsed as JSON.
    pub fn json(&self) -> Value {
        let line = self
            .stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON line on stdout\n{self}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e})\n{self}"))
    }

    /// Non-empty stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }
}

/// The runtime under test with its own `--root`; deletes (with `--force`)
/// every container it created when dropped.
#[derive(Debug)]
pub struct Runtime {
    root: TempDir,
    ids: Mutex<Vec<String>>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// A runtime handle with a fresh state directory.
    pub fn new() -> Runtime {
        Runtime {
            root: TempDir::new("root"),
            ids: Mutex::new(Vec::new()),
        }
    }

    /// The `--root` directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Remembers `id` so Drop deletes it.
    pub fn track(&self, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.to_string());
    }

    /// A command for the runtime with `--root` set.
    pub fn command(&self) -> Command {
        let mut c = Command::new(runtime_bin());
        c.arg("--root").arg(self.root());
        c
    }

    /// Runs the runtime with `args`, capturing everything (stdin is /dev/null).
    pub fn exec(&self, args: &[&str]) -> Out {
        let mut c = self.command();
        c.args(args);
        capture(c)
    }

    /// Runs `cmd` (from [`Runtime::command`]) capturing its output.
    pub fn capture(&self, c: Command) -> Out {
        capture(c)
    }

    /// `run --bundle B ID [extra...]` in the foreground, capturing the
    /// container's output (which is the runtime's).
    pub fn run(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Out {
        bundle.write_config();
        self.track(id);
        let mut c = self.command();
        c.arg("run")
            .arg("--bundle")
            .arg(bundle.path())
            .args(extra)
            .arg(id);
        capture(c)
    }

    /// Runs a checker bundle and returns the parsed report (asserting exit 0).
    pub fn report(&self, bundle: &Bundle) -> Value {
        let id = unique_id("report");
        let out = self.run(&id, bundle, &[]);
        out.ok();
        out.json()
    }

    /// `create --bundle B ID [extra...]`; the runtime's (and later the
    /// container's) stdout and stderr go to the bundle's files.
    pub fn create(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Out {
        bundle.write_config();
        self.track(id);
        let mut c = self.command();
        c.arg("create")
            .arg("--bundle")
            .arg(bundle.path())
            .args(extra)
            .arg(id);
        self.to_files(c, bundle)
    }

    /// Runs `c` with stdout/stderr redirected to the bundle's files (for
    /// commands that leave a container behind holding them), then reads them.
    pub fn to_files(&self, mut c: Command, bundle: &Bundle) -> Out {
        let out = fs::File::create(bundle.stdout_path()).expect("create stdout file");
        let err = fs::File::create(bundle.stderr_path()).expect("create stderr file");
        c.stdin(Stdio::null()).stdout(out).stderr(err);
        let cmdline = format!("{c:?}");
        let status = c.status().expect("spawn runtime");
        Out {
            cmdline,
            code: status.code(),
            stdout: fs::read_to_string(bundle.stdout_path()).unwrap_or_default(),
            stderr: fs::read_to_string(bundle.stderr_path()).unwrap_or_default(),
        }
    }

    /// `start ID`, then waits until `count` checker sleepers wrote their
    /// `{"ready":true}` line (signal handlers installed) to the bundle's stdout.
    pub fn start_ready(&self, id: &str, bundle: &Bundle, count: usize) {
        self.exec(&["start", id]).ok();
        wait_for_lines(&bundle.stdout_path(), "{\"ready\":true}", count);
    }

    /// `state ID` parsed, or `None` when the runtime says it does not exist.
    pub fn state(&self, id: &str) -> Option<Value> {
        let out = self.exec(&["state", id]);
        if out.code != Some(0) {
            return None;
        }
        serde_json::from_str(&out.stdout).ok()
    }

    /// The `status` field of `state ID`.
    pub fn status(&self, id: &str) -> Option<String> {
        self.state(id)
            .and_then(|s| s["status"].as_str().map(str::to_string))
    }

    /// Polls `state` until the container is stopped; panics after a minute
    /// (a hang, not a timing assertion).
    pub fn wait_stopped(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.status(id).as_deref() {
                Some("stopped") | None => return,
                _ => {}
            }
            assert!(Instant::now() < deadline, "container {id} never stopped");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut *self.ids.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            let mut c = self.command();
            c.args(["delete", "--force", &id]);
            let _ = c
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        retry_leftovers();
    }
}

/// Polls `path` until it holds `count` lines equal to `line`; panics after a
/// minute (a hang, not a timing assertion).
pub fn wait_for_lines(path: &Path, line: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = read_text(path);
        if text.lines().filter(|l| *l == line).count() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never had {count} x {line}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `path` until it contains `needle`; panics after a minute.
pub fn wait_for_substring(path: &Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = read_text(path);
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never had {needle}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How long one runtime invocation may take before the test fails as hung.
const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Runs `c` with stdin from /dev/null, capturing stdout and stderr. A
/// runtime that hangs, or leaves a process holding its output pipes, fails
/// the test after [`COMMAND_DEADLINE`] instead of hanging the suite.
fn capture(mut c: Command) -> Out {
    let cmdline = format!("{c:?}");
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmdline}: {e}"));
    let pipe_reader = |mut r: Box<dyn Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
        rx
    };
    let out_rx = pipe_reader(Box::new(child.stdout.take().expect("stdout pipe")));
    let err_rx = pipe_reader(Box::new(child.stderr.take().expect("stderr pipe")));
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for runtime") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmdline} hung for {COMMAND_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
    let recv = |rx: std::sync::mpsc::Receiver<String>, which: &str| {
        rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!("{cmdline} exited ({status}) but a leftover process holds its {which}")
        })
    };
    let stdout = recv(out_rx, "stdout");
    let stderr = recv(err_rx, "stderr");
    Out {
        cmdline,
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Reads a whole file as text, or "" if it can't be read.
pub fn read_text(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

/// Helpers over a checker report.
pub mod report {
    use serde_json::Value;

    /// The mount whose target is `target` (the last one, as it is on top).
    pub fn mount<'a>(r: &'a Value, target: &str) -> Option<&'a Value> {
        r["mounts"]
            .as_array()?
            .iter()
            .rev()
            .find(|m| m["target"] == target)
    }

    /// True when the mount at `target` has option `opt` (per-mount or superblock).
    pub fn mount_has_option(r: &Value, target: &str, opt: &str) -> bool {
        mount(r, target).is_some_and(|m| {
            m["options"]
                .as_array()
                .into_iter()
                .chain(m["super_options"].as_array())
                .flatten()
                .any(|o| o == opt)
        })
    }

    /// The names in capability set `set` (`bounding`, `effective`...).
    pub fn caps(r: &Value, set: &str) -> Vec<String> {
        strings(&r["capabilities"][set])
    }

    /// The value of environment variable `name` in the report's env.
    pub fn env<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
        r["env"]
            .as_array()?
            .iter()
            .find_map(|e| e.as_str()?.strip_prefix(name)?.strip_prefix('='))
    }

    /// The device entry at `path`, if present.
    pub fn device<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
        r["devices"].as_array()?.iter().find(|d| d["path"] == path)
    }

    /// The fd numbers open in the process.
    pub fn fds(r: &Value) -> Vec<i64> {
        r["fds"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["fd"].as_i64()).collect())
            .unwrap_or_default()
    }

    /// A JSON array of strings as a Vec.
    pub fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The inode of `/proc/self/ns/<kind>` on the host (the test process).
pub fn host_ns(kind: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/self/ns/{kind}"))
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// A snapshot of a directory tree (relative path, kind, size, content hash)
/// to prove the host was left untouched.
pub fn snapshot(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else if m.file_type().is_symlink() {
                let t = fs::read_link(&p).unwrap_or_default();
                out.push(format!("{rel} -> {}", t.display()));
            } else {
                let content = fs::read(&p).unwrap_or_default();
                out.push(format!("{rel} {} {:016x}", m.len(), fnv1a(&content)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// FNV-1a, enough to notice a changed file.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Pids of live processes whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Cgroup directories (v1 controllers and v2) whose name contains `needle`,
/// searched a few levels deep.
pub fn cgroups_mentioning(needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: u32, needle: &str, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().contains(needle) {
                out.push(p.clone());
            }
            walk(&p, depth - 1, needle, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 5, needle, &mut out);
    out
}

/// Removes, on drop, every cgroup directory whose name contains its needle
/// (deepest first, retrying while exiting processes leave), so tests that
/// name their own cgroups leave none behind even when they fail.
#[derive(Debug)]
pub struct CgroupGuard {
    needle: String,
}

impl CgroupGuard {
    /// Guards cgroups named with `needle` (use a [`unique_id`]).
    pub fn new(needle: &str) -> CgroupGuard {
        CgroupGuard {
            needle: needle.to_string(),
        }
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut dirs: Vec<PathBuf> = cgroups_mentioning(&self.needle)
                .into_iter()
                .flat_map(|d| {
                    let mut all = vec![d.clone()];
                    all.extend(subdirs(&d));
                    all
                })
                .collect();
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            dirs.dedup();
            let mut left = false;
            for d in &dirs {
                if fs::remove_dir(d).is_err() && d.exists() {
                    left = true;
                }
            }
            if !left || Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(e.path());
                out.extend(subdirs(&e.path()));
            }
        }
    }
    out
}

/// The receiving end of `--console-socket`.
pub mod console {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::UnixListener;

    /// Receives one fd sent with SCM_RIGHTS on `stream`.
    pub fn receive_fd(stream: &std::os::unix::net::UnixStream) -> std::io::Result<OwnedFd> {
        let mut data = [0u8; 4096];
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
        // SAFETY: msg points at live buffers (iov, control) sized as declared.
        let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: msg was filled by recvmsg; CMSG_FIRSTHDR reads within msg_control.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        // SAFETY: cmsg is null-checked first; the header lies inside `control`.
        if cmsg.is_null() || unsafe { (*cmsg).cmsg_type } != libc::SCM_RIGHTS {
            return Err(std::io::Error::other(
                "no SCM_RIGHTS message on the console socket",
            ));
        }
        // SAFETY: an SCM_RIGHTS payload holds at least one int fd; read_unaligned
        // copes with the data's alignment.
        let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::c_int) };
        // SAFETY: the kernel just installed fd in our table; we own it now.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Accepts one connection on `listener`, receives the pty master and reads
    /// it until the slave side closes; the thread returns what it read.
    pub fn console_reader(listener: UnixListener) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || -> String {
            let Ok((stream, _)) = listener.accept() else {
                return String::new();
            };
            let Ok(master) = receive_fd(&stream) else {
                return String::new();
            };
            let mut f = std::fs::File::from(master);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Reads until the slave side closes (EIO).
            loop {
                match f.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    }
}
