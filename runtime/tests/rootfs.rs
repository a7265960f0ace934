//! Real rootfs builds: each test writes a bundle (config.json + a rootfs made
//! from the static /bin/busybox), then re-runs this test binary's `helper`
//! inside `unshare --mount --pid --fork` so it can call `rootfs::prepare`,
//! `enter` and `finish` as a container init would, and finally exec busybox
//! inside the new root to report what a process there sees. Hostile-symlink
//! tests also prove that the host file or directory a link points at is
//! unchanged and that no mount of the bundle shows up in the host.

use berth::rootfs::{self, RootfsContext};
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

// ---------------------------------------------------------------- helper side

/// Not a test on its own: the body other tests run in a subprocess inside
/// fresh namespaces (it returns at once when started any other way).
#[test]
#[ignore = "helper: started in a subprocess by the other tests of this file"]
fn helper() {
    let Ok(bundle) = std::env::var("BERTH_ROOTFS_BUNDLE") else {
        return;
    };
    let bundle = PathBuf::from(bundle);
    let modes = std::env::var("BERTH_ROOTFS_MODES").unwrap_or_default();
    let modes: Vec<&str> = modes.split(',').filter(|m| !m.is_empty()).collect();
    let script = std::env::var("BERTH_ROOTFS_SCRIPT").unwrap_or_default();
    let fail = |stage: &str, e: &dyn std::fmt::Display| -> ! {
        println!("\nROOTFS-ERROR {stage}: {e}");
        std::process::exit(3)
    };
    let spec = Spec::load(bundle.join("config.json")).unwrap_or_else(|e| fail("load", &e));
    std::env::set_current_dir(&bundle).unwrap_or_else(|e| fail("chdir", &e));
    let rootfs = bundle.join("rootfs");
    for mode in &modes {
        // A submount inside a bind source, made in this namespace only.
        if let Some(path) = mode.strip_prefix("pre-tmpfs=") {
            let ok = Command::new("mount")
                .args(["-t", "tmpfs", "tmpfs", path])
                .status();
            if !ok.is_ok_and(|s| s.success()) {
                fail("pre-tmpfs", &path);
            }
        }
    }
    // A descriptor of a host directory leaked into the container, as a
    // careless caller might: a /proc/self/fd/N link must not reach it.
    let _leak = modes
        .iter()
        .find_map(|m| m.strip_prefix("leak-fd="))
        .map(|path| {
            let fd = rustix::fs::open(path, rustix::fs::OFlags::PATH, rustix::fs::Mode::empty())
                .unwrap_or_else(|e| fail("leak-fd", &e));
            println!("\nLEAKED-FD {}", std::os::fd::AsRawFd::as_raw_fd(&fd));
            fd
        });
    let ctx = RootfsContext {
        spec: &spec,
        rootfs: &rootfs,
        no_pivot: modes.contains(&"no-pivot"),
    };
    let started = std::time::Instant::now();
    rootfs::prepare(&ctx).unwrap_or_else(|e| fail("prepare", &e));
    if modes.contains(&"console") {
        let pty = open_pty().unwrap_or_else(|e| fail("pty", &e));
        rootfs::mount_console(&rootfs, std::os::fd::AsFd::as_fd(&pty))
            .unwrap_or_else(|e| fail("console", &e));
    }
    rootfs::enter(&ctx).unwrap_or_else(|e| fail("enter", &e));
    if modes.contains(&"console-after-enter") {
        let pty = open_pty().unwrap_or_else(|e| fail("pty", &e));
        rootfs::mount_console(std::path::Path::new("/"), std::os::fd::AsFd::as_fd(&pty))
            .unwrap_or_else(|e| fail("console", &e));
    }
    if modes.contains(&"swap-devnull") {
        // What a malicious container process racing us could do.
        std::fs::remove_file("/dev/null").unwrap_or_else(|e| fail("swap", &e));
        std::os::unix::fs::symlink("/proc/sys/kernel/domainname", "/dev/null")
            .unwrap_or_else(|e| fail("swap", &e));
    }
    rootfs::finish(&ctx).unwrap_or_else(|e| fail("finish", &e));
    // For a reader measuring cost; no test asserts on it.
    println!("\nROOTFS-TIME {}us", started.elapsed().as_micros());
    println!("ROOTFS-OK");
    let e = Command::new("/bin/busybox")
        .args(["sh", "-c", &script])
        .exec();
    fail("exec", &e);
}

/// Opens a new pty pair on the host and returns the slave.
fn open_pty() -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )?;
    std::mem::forget(master);
    Ok(slave)
}

// ---------------------------------------------------------------- test side

/// A bundle in a temp dir, removed on drop (its mounts die with the
/// helper's namespace).
struct Bundle {
    dir: PathBuf,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bundle {
    fn new() -> Bundle {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-rootfs-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bin = dir.join("rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        for d in ["proc", "sys", "dev", "tmp", "etc"] {
            std::fs::create_dir_all(dir.join("rootfs").join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
        // The host's busybox, not the fresh copy: a parallel test's fork may
        // still hold the copy open for writing (ETXTBSY).
        let status = Command::new("/bin/busybox")
            .args(["--install", "-s"])
            .arg(&bin)
            .status()
            .unwrap();
        assert!(status.success(), "busybox --install failed");
        Bundle { dir }
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Writes `config` and runs the helper in new mount + pid namespaces
    /// (plus `extra_ns`, unshare flags such as "--ipc"), exec'ing `script`
    /// inside the finished root.
    fn run(&self, config: &Value, script: &str, modes: &[&str], extra_ns: &[&str]) -> Output {
        std::fs::write(self.dir.join("config.json"), config.to_string()).unwrap();
        let exe = std::env::current_exe().unwrap();
        let output = Command::new("unshare")
            .args(["--mount", "--pid", "--fork", "--propagation", "unchanged"])
            .args(extra_ns)
            .arg("--")
            .arg(exe)
            .args([
                "--ignored",
                "--exact",
                "helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BERTH_ROOTFS_BUNDLE", &self.dir)
            .env("BERTH_ROOTFS_MODES", modes.join(","))
            .env("BERTH_ROOTFS_SCRIPT", script)
            .output()
            .unwrap();
        self.assert_host_untouched();
        output
    }

    /// Like `run`, but first runs the shell command `outer` as real root in
    /// a private mount namespace, then the helper in a user namespace (with
    /// mount and pid namespaces) below it: mounts `outer` makes are locked
    /// there, as a host's mounts are for a rootless container.
    fn run_below(&self, config: &Value, script: &str, outer: &str) -> Output {
        std::fs::write(self.dir.join("config.json"), config.to_string()).unwrap();
        let exe = std::env::current_exe().unwrap();
        let inner =
            "exec unshare --user --map-root-user --mount --pid --fork --propagation unchanged \
                     -- \"$0\" --ignored --exact helper --nocapture --test-threads=1";
        let output = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(format!("{outer} && {inner}"))
            .arg(exe)
            .env("BERTH_ROOTFS_BUNDLE", &self.dir)
            .env("BERTH_ROOTFS_MODES", "")
            .env("BERTH_ROOTFS_SCRIPT", script)
            .output()
            .unwrap();
        self.assert_host_untouched();
        output
    }

    /// Runs and expects success; returns what the script printed.
    fn run_ok(&self, config: &Value, script: &str, modes: &[&str], extra_ns: &[&str]) -> String {
        let out = self.run(config, script, modes, extra_ns);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Some(time) = stdout.lines().find(|l| l.starts_with("ROOTFS-TIME")) {
            eprintln!("{time}");
        }
        assert!(
            out.status.success() && stdout.contains("ROOTFS-OK"),
            "helper failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs and expects the rootfs code to refuse; returns its error line.
    fn run_err(&self, config: &Value, modes: &[&str]) -> String {
        let out = self.run(config, "echo SCRIPT-RAN", modes, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !stdout.contains("SCRIPT-RAN"),
            "the container started:\n{stdout}"
        );
        stdout
            .lines()
            .find_map(|l| l.find("ROOTFS-ERROR").map(|i| &l[i..]))
            .unwrap_or_else(|| {
                panic!(
                    "no rootfs error:\n{stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string()
    }

    /// No mount of anything under the bundle may be visible in the host.
    fn assert_host_untouched(&self) {
        let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.dir.to_str().unwrap();
        assert!(
            !host.contains(dir),
            "a bundle mount leaked into the host:\n{host}"
        );
    }
}

/// A directory or file outside the bundle that hostile links point at;
/// removed on drop.
struct Victim(PathBuf);

impl Victim {
    fn dir() -> Victim {
        let v = Victim::path();
        std::fs::create_dir_all(&v.0).unwrap();
        std::fs::write(v.0.join("keep"), "host data").unwrap();
        v
    }
    fn file() -> Victim {
        let v = Victim::path();
        std::fs::write(&v.0, "host data").unwrap();
        v
    }
    fn path() -> Victim {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("berth-victim-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        let _ = std::fs::remove_file(&p);
        Victim(p)
    }
    /// The victim dir holds exactly its one original file, unchanged.
    fn assert_dir_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["keep"], "host dir {} was changed", self.0.display());
        assert_eq!(
            std::fs::read_to_string(self.0.join("keep")).unwrap(),
            "host data"
        );
    }
    fn assert_file_untouched(&self) {
        let meta = std::fs::symlink_metadata(&self.0).unwrap();
        assert!(
            meta.is_file(),
            "host file {} is no longer a file",
            self.0.display()
        );
        assert_eq!(std::fs::read_to_string(&self.0).unwrap(), "host data");
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

fn config(mounts: Value, linux: Value) -> Value {
    let mut linux_obj = json!({
        "namespaces": [{"type": "mount"}, {"type": "pid"}],
        "maskedPaths": [],
        "readonlyPaths": [],
    });
    if let (Some(base), Some(extra)) = (linux_obj.as_object_mut(), linux.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs", "readonly": false},
        "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}},
        "mounts": mounts,
        "linux": linux_obj,
    })
}

/// The mounts `runc spec` writes.
fn default_mounts() -> Value {
    json!([
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
    ])
}

/// One parsed /proc/self/mountinfo line.
struct MountLine {
    mount_point: String,
    /// Per-mount options ("rw,nosuid,...").
    options: String,
    fstype: String,
    /// Optional fields ("shared:3", "master:1").
    tags: String,
}

/// Mountinfo lines printed between the BEGIN/END markers of a script.
fn mounts_in(stdout: &str) -> Vec<MountLine> {
    let Some(start) = stdout.find("MOUNTINFO-BEGIN") else {
        return Vec::new();
    };
    let end = stdout[start..]
        .find("MOUNTINFO-END")
        .map_or(stdout.len(), |e| start + e);
    stdout[start..end]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            Some(MountLine {
                mount_point: fields.get(4)?.to_string(),
                options: fields.get(5)?.to_string(),
                tags: fields.get(6..).map(|t| t.join(" ")).unwrap_or_default(),
                fstype: right.split(' ').next()?.to_string(),
            })
        })
        .collect()
}

const MOUNTINFO: &str = "echo MOUNTINFO-BEGIN; cat /proc/self/mountinfo; echo MOUNTINFO-END";

fn find<'a>(mounts: &'a [MountLine], mount_point: &str) -> &'a MountLine {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("{mount_point} is not mounted"))
}

fn has_opt(m: &MountLine, opt: &str) -> bool {
    m.options.split(',').any(|o| o == opt)
}

// ---------------------------------------------------------------- features

#[test]
fn default_mounts_appear_with_their_types_and_options() {
    let b = Bundle::new();
    let out = b.run_ok(&config(default_mounts(), json!({})), MOUNTINFO, &[], &[]);
    let mounts = mounts_in(&out);
    let root = find(&mounts, "/");
    assert!(
        root.tags.is_empty() || root.tags.contains("master:"),
        "/ is shared: {}",
        root.tags
    );
    assert_eq!(find(&mounts, "/proc").fstype, "proc");
    let dev = find(&mounts, "/dev");
    assert_eq!(dev.fstype, "tmpfs");
    assert!(
        has_opt(dev, "nosuid") && !has_opt(dev, "nodev"),
        "{}",
        dev.options
    );
    let pts = find(&mounts, "/dev/pts");
    assert_eq!(pts.fstype, "devpts");
    assert!(
        has_opt(pts, "noexec") && has_opt(pts, "nosuid"),
        "{}",
        pts.options
    );
    let shm = find(&mounts, "/dev/shm");
    assert!(
        has_opt(shm, "nodev") && has_opt(shm, "noexec"),
        "{}",
        shm.options
    );
    assert_eq!(find(&mounts, "/dev/mqueue").fstype, "mqueue");
    let sys = find(&mounts, "/sys");
    assert_eq!(sys.fstype, "sysfs");
    assert!(has_opt(sys, "ro"), "{}", sys.options);
    let cg = find(&mounts, "/sys/fs/cgroup");
    assert!(has_opt(cg, "ro"), "{}", cg.options);
}

#[test]
fn default_devices_are_real_nodes_and_dev_links_point_into_proc() {
    let b = Bundle::new();
    let script = "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
                  for l in ptmx fd stdin stdout stderr; do echo \"LINK $l $(readlink /dev/$l)\"; done; \
                  echo hello > /dev/null && echo NULL-WRITABLE";
    let out = b.run_ok(&config(default_mounts(), json!({})), script, &[], &[]);
    for line in [
        "/dev/null character special file 1:3 666",
        "/dev/zero character special file 1:5 666",
        "/dev/full character special file 1:7 666",
        "/dev/random character special file 1:8 666",
        "/dev/urandom character special file 1:9 666",
        "/dev/tty character special file 5:0 666",
        "LINK ptmx pts/ptmx",
        "LINK fd /proc/self/fd",
        "LINK stdin /proc/self/fd/0",
        "LINK stdout /proc/self/fd/1",
        "LINK stderr /proc/self/fd/2",
        "NULL-WRITABLE",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing \"{line}\" in:\n{out}"
        );
    }
}

#[test]
fn linux_devices_get_their_type_numbers_mode_and_owner() {
    let b = Bundle::new();
    let linux = json!({"devices": [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 7, "gid": 8},
        {"path": "/dev/sub/loopx", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
        {"path": "/dev/myfifo", "type": "p", "fileMode": 0o622}
    ]});
    let script = "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/sub/loopx /dev/myfifo";
    let out = b.run_ok(&config(default_mounts(), linux), script, &[], &[]);
    for line in [
        "/dev/fuse character special file a:e5 640 7:8",
        "/dev/sub/loopx block special file 7:c8 600 0:0",
        "/dev/myfifo fifo 0:0 622 0:0",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing \"{line}\" in:\n{out}"
        );
    }
}

#[test]
fn masked_paths_are_unreadable_and_readonly_paths_refuse_writes() {
    let b = Bundle::new();
    let linux = json!({
        "maskedPaths": ["/proc/timer_list", "/proc/acpi", "/proc/does-not-exist", "/sys/firmware"],
        "readonlyPaths": ["/proc/sys", "/proc/kmsg", "/proc/no-such-file"]
    });
    let script = format!(
        "{MOUNTINFO}; echo TIMERS=$(cat /proc/timer_list | wc -c); echo ACPI=$(ls /proc/acpi | wc -l); echo FIRMWARE=$(ls /sys/firmware | wc -l); \
         (echo x > /proc/sys/kernel/domainname) 2>/dev/null || echo SYS-READONLY"
    );
    let out = b.run_ok(&config(default_mounts(), linux), &script, &[], &[]);
    assert!(out.contains("TIMERS=0") && out.contains("ACPI=0"), "{out}");
    assert!(out.contains("FIRMWARE=0"), "{out}");
    assert!(out.contains("SYS-READONLY"), "{out}");
    let mounts = mounts_in(&out);
    let firmware = find(&mounts, "/sys/firmware");
    assert_eq!(firmware.fstype, "tmpfs");
    assert!(has_opt(firmware, "ro"));
    assert!(has_opt(find(&mounts, "/proc/sys"), "ro"));
    assert!(has_opt(find(&mounts, "/proc/kmsg"), "ro"));
}

#[test]
fn readonly_root_refuses_writes_but_its_submounts_stay_writable() {
    let b = Bundle::new();
    let mut cfg = config(default_mounts(), json!({}));
    cfg["root"]["readonly"] = json!(true);
    let script = "(touch /rootfile) 2>/dev/null || echo ROOT-READONLY; touch /dev/shm/x && echo SHM-WRITABLE";
    let out = b.run_ok(&cfg, script, &[], &[]);
    assert!(
        out.contains("ROOT-READONLY") && out.contains("SHM-WRITABLE"),
        "{out}"
    );
    assert!(!b.rootfs().join("rootfile").exists());
}

#[test]
fn sysctl_is_written_in_the_container_ipc_namespace() {
    let b = Bundle::new();
    let host_value = std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    let mut linux = json!({"sysctl": {"kernel.msgmax": "12345"}});
    linux["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}, {"type": "ipc"}]);
    let out = b.run_ok(
        &config(default_mounts(), linux),
        "echo MSGMAX=$(cat /proc/sys/kernel/msgmax)",
        &[],
        &["--ipc"],
    );
    assert!(out.contains("MSGMAX=12345"), "{out}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap(),
        host_value
    );
}

#[test]
fn bind_mounts_take_ro_rbind_and_recursive_read_only() {
    let b = Bundle::new();
    let src = b.dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("file"), "data").unwrap();
    let sub = src.join("sub");
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        // ro applies to the top mount only; rro to every submount too.
        {"destination": "/top-ro", "type": "bind", "source": src, "options": ["rbind", "ro"]},
        {"destination": "/all-ro", "type": "bind", "source": src, "options": ["rbind", "rro", "rnosuid"]},
        {"destination": "/one-file", "source": src.join("file"), "options": ["bind", "nodev"]},
        {"destination": "relative/dest", "source": "src", "options": ["bind", "noexec"]}
    ]);
    let out = b.run_ok(
        &config(mounts, json!({})),
        MOUNTINFO,
        &[&format!("pre-tmpfs={}", sub.display())],
        &[],
    );
    let m = mounts_in(&out);
    assert!(has_opt(find(&m, "/top-ro"), "ro"));
    assert!(
        has_opt(find(&m, "/top-ro/sub"), "rw"),
        "plain ro must not reach submounts"
    );
    assert!(has_opt(find(&m, "/all-ro"), "ro") && has_opt(find(&m, "/all-ro"), "nosuid"));
    let all_sub = find(&m, "/all-ro/sub");
    assert!(
        has_opt(all_sub, "ro") && has_opt(all_sub, "nosuid"),
        "{}",
        all_sub.options
    );
    assert!(has_opt(find(&m, "/one-file"), "nodev"));
    assert!(
        b.rootfs().join("one-file").is_file(),
        "a file source needs a file target"
    );
    assert!(has_opt(find(&m, "/relative/dest"), "noexec"));
}

#[test]
fn atime_symfollow_and_propagation_options_reach_the_mount() {
    let b = Bundle::new();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["noatime", "nodiratime", "nosymfollow"]},
        {"destination": "/b", "type": "tmpfs", "source": "tmpfs", "options": ["strictatime", "shared"]},
        {"destination": "/c", "type": "tmpfs", "source": "tmpfs", "options": ["unbindable", "sync", "dirsync"]}
    ]);
    let out = b.run_ok(&config(mounts, json!({})), MOUNTINFO, &[], &[]);
    let m = mounts_in(&out);
    let a = find(&m, "/a");
    assert!(
        has_opt(a, "noatime") && has_opt(a, "nodiratime") && has_opt(a, "nosymfollow"),
        "{}",
        a.options
    );
    let b_ = find(&m, "/b");
    assert!(
        !has_opt(b_, "relatime") && !has_opt(b_, "noatime"),
        "strictatime: {}",
        b_.options
    );
    assert!(b_.tags.contains("shared:"), "{}\n{out}", b_.tags);
    let c = find(&m, "/c");
    assert!(c.tags.contains("unbindable"), "{}", c.tags);
}

#[test]
fn remount_changes_the_options_of_an_earlier_mount() {
    let b = Bundle::new();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "nosuid"]}
    ]);
    let out = b.run_ok(&config(mounts, json!({})), MOUNTINFO, &[], &[]);
    let m = mounts_in(&out);
    let data: Vec<_> = m.iter().filter(|l| l.mount_point == "/data").collect();
    assert_eq!(data.len(), 1, "remount must not stack a second mount");
    assert!(
        has_opt(data[0], "ro") && has_opt(data[0], "nosuid"),
        "{}",
        data[0].options
    );
}

#[test]
fn tmpcopyup_keeps_what_the_image_had_under_the_tmpfs() {
    let b = Bundle::new();
    let etc = b.rootfs().join("etc");
    std::fs::create_dir_all(etc.join("conf.d")).unwrap();
    std::fs::write(etc.join("conf.d/a.conf"), "alpha").unwrap();
    std::os::unix::fs::symlink("conf.d/a.conf", etc.join("link")).unwrap();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}
    ]);
    let script =
        format!("{MOUNTINFO}; echo CONTENT=$(cat /etc/link); echo new > /etc/new && echo WROTE");
    let out = b.run_ok(&config(mounts, json!({})), &script, &[], &[]);
    assert_eq!(find(&mounts_in(&out), "/etc").fstype, "tmpfs");
    assert!(
        out.contains("CONTENT=alpha") && out.contains("WROTE"),
        "{out}"
    );
    assert!(
        !etc.join("new").exists(),
        "the write went to the image, not the tmpfs"
    );
}

#[test]
fn cgroup_mount_without_namespace_binds_the_process_own_cgroups() {
    let b = Bundle::new();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let hybrid = own.lines().any(|l| !l.starts_with("0::"));
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid"]}
    ]);
    let script = format!("{MOUNTINFO}; ls /sys/fs/cgroup");
    let out = b.run_ok(&config(mounts, json!({})), &script, &[], &[]);
    let m = mounts_in(&out);
    if hybrid {
        assert_eq!(find(&m, "/sys/fs/cgroup").fstype, "tmpfs");
        let memory = find(&m, "/sys/fs/cgroup/memory");
        assert_eq!(memory.fstype, "cgroup");
        assert!(
            has_opt(memory, "ro") && has_opt(memory, "nosuid"),
            "{}",
            memory.options
        );
        assert_eq!(find(&m, "/sys/fs/cgroup/unified").fstype, "cgroup2");
        assert!(find(&m, "/sys/fs/cgroup/systemd").fstype == "cgroup");
    } else {
        assert_eq!(find(&m, "/sys/fs/cgroup").fstype, "cgroup2");
    }
}

#[test]
fn cgroup_mount_with_a_cgroup_namespace_is_fresh_and_rooted_there() {
    let b = Bundle::new();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]}
    ]);
    let linux = json!({"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "cgroup"}]});
    let script = format!("{MOUNTINFO}; echo OWN; cat /proc/self/cgroup");
    let out = b.run_ok(&config(mounts, linux), &script, &[], &["--cgroup"]);
    let m = mounts_in(&out);
    let unified = find(&m, "/sys/fs/cgroup/unified");
    assert_eq!(unified.fstype, "cgroup2");
    assert!(has_opt(unified, "ro"));
    // Inside its namespace the process sits at the root of every hierarchy.
    let own = out.split("OWN").nth(1).unwrap_or("");
    assert!(
        own.lines()
            .filter(|l| !l.is_empty())
            .all(|l| l.ends_with(":/")),
        "{own}"
    );
}

#[test]
fn no_pivot_moves_the_rootfs_and_chroots() {
    let b = Bundle::new();
    std::fs::write(b.rootfs().join("marker"), "in-rootfs").unwrap();
    let script = format!("{MOUNTINFO}; echo MARKER=$(cat /marker)");
    let out = b.run_ok(
        &config(default_mounts(), json!({})),
        &script,
        &["no-pivot"],
        &[],
    );
    assert!(out.contains("MARKER=in-rootfs"), "{out}");
    assert_eq!(find(&mounts_in(&out), "/proc").fstype, "proc");
}

#[test]
fn rootfs_propagation_is_applied_to_the_new_root() {
    let b = Bundle::new();
    let out = b.run_ok(
        &config(default_mounts(), json!({"rootfsPropagation": "rshared"})),
        MOUNTINFO,
        &[],
        &[],
    );
    assert!(find(&mounts_in(&out), "/").tags.contains("shared:"));
    let out = b.run_ok(
        &config(default_mounts(), json!({"rootfsPropagation": "private"})),
        MOUNTINFO,
        &[],
        &[],
    );
    assert!(find(&mounts_in(&out), "/").tags.is_empty());
    let err = b.run_err(
        &config(default_mounts(), json!({"rootfsPropagation": "sideways"})),
        &[],
    );
    assert!(
        err.contains("linux.rootfsPropagation \"sideways\""),
        "{err}"
    );
}

#[test]
fn idmap_mount_shows_files_under_the_mapped_owner() {
    let b = Bundle::new();
    let src = b.dir.join("idsrc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("owned-by-root"), "x").unwrap();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/mapped", "type": "bind", "source": src, "options": ["bind", "idmap"],
         "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
         "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]}
    ]);
    let out = b.run_ok(
        &config(mounts, json!({})),
        "stat -c 'OWNER %u:%g' /mapped/owned-by-root",
        &[],
        &[],
    );
    assert!(out.contains("OWNER 1000:2000"), "{out}");
}

#[test]
fn console_is_bound_from_the_pty_descriptor() {
    let b = Bundle::new();
    let script = format!("{MOUNTINFO}; stat -c 'CONSOLE %F' /dev/console");
    let out = b.run_ok(
        &config(default_mounts(), json!({})),
        &script,
        &["console"],
        &[],
    );
    assert!(out.contains("CONSOLE character special file"), "{out}");
    assert_eq!(find(&mounts_in(&out), "/dev/console").fstype, "devpts");
}

#[test]
fn user_namespace_binds_host_devices_and_sysfs_when_it_may_not_make_them() {
    let b = Bundle::new();
    // gid=5 in the devpts options is not mapped in a one-id user namespace:
    // the mount must still succeed.
    let mounts = default_mounts();
    let linux = json!({"namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "ipc"}],
                       "maskedPaths": ["/proc/timer_list"], "readonlyPaths": ["/proc/sys"]});
    let script = format!(
        "{MOUNTINFO}; stat -c 'NODE %n %F %t:%T' /dev/null /dev/zero /dev/tty; echo x > /dev/null && echo NULL-OK; \
         echo TIMERS=$(cat /proc/timer_list | wc -c)"
    );
    let ns = ["--user", "--map-root-user", "--ipc"];
    let out = b.run_ok(&config(mounts, linux), &script, &[], &ns);
    for line in [
        "NODE /dev/null character special file 1:3",
        "NODE /dev/zero character special file 1:5",
        "NODE /dev/tty character special file 5:0",
        "NULL-OK",
        "TIMERS=0",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing \"{line}\" in:\n{out}"
        );
    }
    let m = mounts_in(&out);
    // mknod is refused in a user namespace: the nodes are host binds.
    assert_eq!(find(&m, "/dev/null").fstype, "devtmpfs");
    assert_eq!(find(&m, "/sys").fstype, "sysfs");
    assert!(has_opt(find(&m, "/sys"), "ro"));
    assert_eq!(find(&m, "/dev/mqueue").fstype, "mqueue");
    assert_eq!(find(&m, "/dev/pts").fstype, "devpts");
}

#[test]
fn user_namespace_bind_keeps_flags_locked_on_its_source() {
    let b = Bundle::new();
    let src = b.dir.join("locked");
    std::fs::create_dir_all(&src).unwrap();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        // suid/dev would clear flags the source has locked: kept instead.
        {"destination": "/locked", "type": "bind", "source": src,
         "options": ["rbind", "suid", "dev", "exec", "ro"]}
    ]);
    let linux = json!({"namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "pid"}]});
    let outer = format!("mount -t tmpfs -o nosuid,nodev tmpfs {}", src.display());
    let out = b.run_below(&config(mounts, linux), MOUNTINFO, &outer);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ROOTFS-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let locked = find(&mounts_in(&stdout), "/locked").options.clone();
    for opt in ["ro", "nosuid", "nodev"] {
        assert!(
            locked.split(',').any(|o| o == opt),
            "{opt} missing: {locked}"
        );
    }
}

#[test]
fn bad_mount_options_are_reported_with_the_entry_and_the_kernel_reason() {
    let b = Bundle::new();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=lots"]}
    ]);
    let err = b.run_err(&config(mounts, json!({})), &[]);
    assert!(err.contains("mounts[1] (destination \"/x\")"), "{err}");
    assert!(err.contains("size=lots"), "{err}");
}

// ---------------------------------------------------------------- hostile rootfs

#[test]
fn mount_target_behind_an_absolute_symlink_stays_in_the_rootfs() {
    let b = Bundle::new();
    let victim = Victim::dir();
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("evil")).unwrap();
    // `etc -> /` as images sometimes ship, with a target below it.
    std::fs::remove_dir(b.rootfs().join("etc")).unwrap();
    std::os::unix::fs::symlink("/", b.rootfs().join("etc")).unwrap();
    let etc_target = format!("/etc{}", victim.0.display());
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"},
        {"destination": format!("{etc_target}/other"), "type": "tmpfs", "source": "tmpfs"}
    ]);
    let out = b.run_ok(&config(mounts, json!({})), MOUNTINFO, &[], &[]);
    victim.assert_dir_untouched();
    let inside = b.rootfs().join(victim.0.strip_prefix("/").unwrap());
    assert!(inside.join("sub").is_dir() && inside.join("other").is_dir());
    let m = mounts_in(&out);
    find(&m, &format!("{}/sub", victim.0.display()));
}

#[test]
fn mount_targets_swapped_for_symlinks_during_setup_never_reach_the_host() {
    // CVE-2021-30465: directories on the way to mount targets are swapped
    // with symlinks to a host directory while the mounts are being made.
    let b = Bundle::new();
    let victim = Victim::dir();
    let mut pairs = Vec::new();
    let mut mounts = vec![json!({"destination": "/proc", "type": "proc", "source": "proc"})];
    for i in 0..40 {
        let (race, link) = (
            b.rootfs().join(format!("race{i}")),
            b.rootfs().join(format!("link{i}")),
        );
        std::fs::create_dir_all(&race).unwrap();
        std::os::unix::fs::symlink(&victim.0, &link).unwrap();
        pairs.push((race, link));
        mounts.push(
            json!({"destination": format!("/race{i}/m{i}"), "type": "tmpfs", "source": "tmpfs"}),
        );
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swaps = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let flags = rustix::fs::RenameFlags::EXCHANGE;
            while !stop.load(Ordering::Relaxed) {
                for (race, link) in &pairs {
                    let cwd = rustix::fs::CWD;
                    if rustix::fs::renameat_with(cwd, race, cwd, link, flags).is_ok() {
                        swaps.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    // Let the swapping get going before the mounts start.
    while swaps.load(Ordering::Relaxed) < 1000 {
        std::thread::yield_now();
    }
    let out = b.run(&config(json!(mounts), json!({})), "true", &[], &[]);
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    // Whether every mount succeeded depends on the race; the host must not care.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ROOTFS-"),
        "the helper did not run:\n{stdout}"
    );
    victim.assert_dir_untouched();
}

#[test]
fn mount_target_behind_a_dotdot_symlink_stays_in_the_rootfs() {
    let b = Bundle::new();
    let victim = Victim::dir();
    std::fs::create_dir_all(b.rootfs().join("a/b")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../..", b.rootfs().join("a/b/up")).unwrap();
    let dest = format!("/a/b/up{}/planted", victim.0.display());
    let src = b.dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": dest, "type": "bind", "source": src, "options": ["bind"]}
    ]);
    b.run_ok(&config(mounts, json!({})), "true", &[], &[]);
    victim.assert_dir_untouched();
    let inside = b.rootfs().join(victim.0.strip_prefix("/").unwrap());
    assert!(inside.join("planted").is_dir());
}

#[test]
fn mount_destination_whose_parent_links_to_host_root_stays_in_the_rootfs() {
    let b = Bundle::new();
    let victim = Victim::file();
    std::os::unix::fs::symlink("/", b.rootfs().join("lnk")).unwrap();
    let src = b.dir.join("payload");
    std::fs::write(&src, "container payload").unwrap();
    // Binding a file over the victim's path through lnk -> / .
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": format!("/lnk{}", victim.0.display()), "source": src, "options": ["bind"]}
    ]);
    let script = format!("echo SEEN=$(cat {})", victim.0.display());
    let out = b.run_ok(&config(mounts, json!({})), &script, &[], &[]);
    assert!(out.contains("SEEN=container payload"), "{out}");
    victim.assert_file_untouched();
}

#[test]
fn dev_null_symlink_to_a_host_file_is_replaced_not_followed() {
    let b = Bundle::new();
    let victim = Victim::file();
    // No /dev tmpfs: devices are made in the image's own /dev.
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("dev/null")).unwrap();
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("dev/ptmx")).unwrap();
    let mounts = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    let linux = json!({"maskedPaths": ["/proc/timer_list"]});
    let out = b.run_ok(
        &config(mounts, linux),
        "stat -c 'NULL %F %t:%T' /dev/null; echo x > /dev/null",
        &[],
        &[],
    );
    assert!(out.contains("NULL character special file 1:3"), "{out}");
    victim.assert_file_untouched();
}

#[test]
fn device_path_behind_a_symlink_is_created_inside_the_rootfs() {
    let b = Bundle::new();
    let victim = Victim::dir();
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("devlink")).unwrap();
    let linux =
        json!({"devices": [{"path": "/devlink/evil", "type": "c", "major": 1, "minor": 3}]});
    b.run_ok(&config(default_mounts(), linux), "true", &[], &[]);
    victim.assert_dir_untouched();
    let inside = b
        .rootfs()
        .join(victim.0.strip_prefix("/").unwrap())
        .join("evil");
    assert!(std::fs::symlink_metadata(inside).is_ok());
}

#[test]
fn masking_refuses_a_dev_null_swapped_for_a_symlink() {
    let b = Bundle::new();
    let linux = json!({"maskedPaths": ["/proc/timer_list"]});
    let err = b.run_err(&config(default_mounts(), linux), &["swap-devnull"]);
    assert!(
        err.contains("ROOTFS-ERROR finish") && err.contains("/dev/null"),
        "{err}"
    );
}

#[test]
fn masked_and_readonly_paths_through_symlinks_stay_in_the_root() {
    let b = Bundle::new();
    let victim = Victim::dir();
    std::fs::create_dir_all(b.rootfs().join("data")).unwrap();
    std::fs::write(b.rootfs().join("data/secret"), "secret").unwrap();
    std::os::unix::fs::symlink("../../../../data/secret", b.rootfs().join("maskme")).unwrap();
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("rolink")).unwrap();
    std::fs::create_dir_all(b.rootfs().join(victim.0.strip_prefix("/").unwrap())).unwrap();
    let linux = json!({"maskedPaths": ["/maskme"], "readonlyPaths": ["/rolink"]});
    let script = format!("{MOUNTINFO}; echo SECRET=$(cat /data/secret)");
    let out = b.run_ok(&config(default_mounts(), linux), &script, &[], &[]);
    assert!(
        out.contains("SECRET=\n") || out.contains("SECRET=\r\n"),
        "{out}"
    );
    let m = mounts_in(&out);
    find(&m, "/data/secret");
    assert!(has_opt(find(&m, &victim.0.display().to_string()), "ro"));
    victim.assert_dir_untouched();
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("data/secret")).unwrap(),
        "secret"
    );
}

#[test]
fn masked_path_through_a_proc_fd_magic_link_is_refused() {
    let b = Bundle::new();
    let victim = Victim::dir();
    // Find the leaked descriptor's number by doing a dry run first.
    let out = b.run_ok(
        &config(default_mounts(), json!({})),
        "true",
        &[&format!("leak-fd={}", victim.0.display())],
        &[],
    );
    let fd = out
        .lines()
        .find_map(|l| l.split("LEAKED-FD ").nth(1))
        .unwrap_or_else(|| panic!("no fd:\n{out}"))
        .to_string();
    std::os::unix::fs::symlink(
        format!("/proc/self/fd/{fd}/keep"),
        b.rootfs().join("maskme"),
    )
    .unwrap();
    let linux = json!({"maskedPaths": ["/maskme"]});
    let err = b.run_err(
        &config(default_mounts(), linux),
        &[&format!("leak-fd={}", victim.0.display())],
    );
    assert!(err.contains("linux.maskedPaths[0] \"/maskme\""), "{err}");
    assert!(
        err.contains("symbolic links"),
        "not refused as a magic link: {err}"
    );
    victim.assert_dir_untouched();
}

#[test]
fn console_can_be_bound_after_pivot_root_too() {
    let b = Bundle::new();
    let script = format!("{MOUNTINFO}; stat -c 'CONSOLE %F' /dev/console");
    let out = b.run_ok(
        &config(default_mounts(), json!({})),
        &script,
        &["console-after-enter"],
        &[],
    );
    assert!(out.contains("CONSOLE character special file"), "{out}");
    assert_eq!(find(&mounts_in(&out), "/dev/console").fstype, "devpts");
}

#[test]
fn console_target_symlink_to_a_host_file_is_replaced() {
    let b = Bundle::new();
    let victim = Victim::file();
    std::os::unix::fs::symlink(&victim.0, b.rootfs().join("dev/console")).unwrap();
    let mounts = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    let script = format!("{MOUNTINFO}; stat -c 'CONSOLE %F' /dev/console");
    let out = b.run_ok(&config(mounts, json!({})), &script, &["console"], &[]);
    assert!(out.contains("CONSOLE character special file"), "{out}");
    find(&mounts_in(&out), "/dev/console");
    victim.assert_file_untouched();
}
