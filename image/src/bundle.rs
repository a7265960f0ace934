//! Image config → runtime-spec `config.json`, over Docker/Podman-like defaults.

use crate::manifest::ImageConfig;
use serde_json::{json, Value};

/// Bundle failures.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The user could not be found in the image.
    #[error("image config User {0:?}: {1}")]
    User(String, String),
    /// Nothing to run.
    #[error("the image has no Entrypoint or Cmd: give a command to run")]
    NoCommand,
}

/// The uid, gid and supplementary gids a process runs as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Supplementary groups from `/etc/group`.
    pub additional_gids: Vec<u32>,
    /// Home directory from `/etc/passwd`, if the user is listed.
    pub home: Option<String>,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6).then_some(())?;
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3).then_some(())?;
        let members = f
            .get(3)
            .map(|m| m.split(',').filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolves `user[:group]` (names or numbers) through the image's `/etc/passwd` and
/// `/etc/group` contents, as Docker does: a numeric uid need not be listed (gid 0 then),
/// a name must be.
pub fn resolve_user(spec: &str, passwd: &str, group: &str) -> Result<ResolvedUser, BundleError> {
    let err = |m: String| BundleError::User(spec.into(), m);
    if spec.is_empty() {
        return Ok(ResolvedUser {
            home: passwd_entries(passwd)
                .find(|e| e.uid == 0)
                .map(|e| e.home.to_string()),
            ..Default::default()
        });
    }
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry = match u.parse::<u32>() {
        Ok(uid) => passwd_entries(passwd).find(|e| e.uid == uid),
        Err(_) => Some(
            passwd_entries(passwd)
                .find(|e| e.name == u)
                .ok_or_else(|| err(format!("no user {u:?} in the image's /etc/passwd")))?,
        ),
    };
    let uid = match (u.parse::<u32>(), &entry) {
        (Ok(n), _) => n,
        (Err(_), Some(e)) => e.uid,
        (Err(_), None) => 0,
    };
    let gid = match g {
        None => entry.as_ref().map_or(0, |e| e.gid),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group_entries(group)
                .find(|(n, _, _)| *n == g)
                .map(|(_, id, _)| id)
                .ok_or_else(|| err(format!("no group {g:?} in the image's /etc/group")))?,
        },
    };
    let mut additional_gids = Vec::new();
    if g.is_none() {
        if let Some(e) = &entry {
            for (_, id, members) in group_entries(group) {
                if members.contains(&e.name) && id != gid && !additional_gids.contains(&id) {
                    additional_gids.push(id);
                }
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: entry.map(|e| e.home.to_string()),
    })
}

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Choices that do not come from the image.
#[derive(Debug, Clone, Default)]
pub struct SpecOptions {
    /// Replaces the image's Cmd (the Entrypoint stays).
    pub command: Vec<String>,
    /// Allocate a terminal.
    pub terminal: bool,
    /// Hostname in the UTS namespace.
    pub hostname: String,
    /// Share the host's network namespace.
    pub host_network: bool,
}

/// Builds the runtime spec for `cfg` running as `user`.
pub fn make_spec(
    cfg: &ImageConfig,
    user: &ResolvedUser,
    opts: &SpecOptions,
) -> Result<Value, BundleError> {
    let rc = cfg.config.clone().unwrap_or_default();
    let mut args: Vec<String> = rc.entrypoint.clone().unwrap_or_default();
    if opts.command.is_empty() {
        args.extend(rc.cmd.clone().unwrap_or_default());
    } else {
        args.extend(opts.command.iter().cloned());
    }
    if args.is_empty() {
        return Err(BundleError::NoCommand);
    }
    let mut env: Vec<String> = rc.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.into());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            user.home
                .as_deref()
                .filter(|h| !h.is_empty())
                .unwrap_or("/")
        ));
    }
    if opts.terminal && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = rc
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let mut annotations = serde_json::Map::new();
    for (k, v) in rc.labels.clone().unwrap_or_default() {
        annotations.insert(k, Value::String(v));
    }
    if let Some(s) = rc.stop_signal.clone().filter(|s| !s.is_empty()) {
        annotations.insert(
            "org.opencontainers.image.stopSignal".into(),
            Value::String(s),
        );
    }
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    if !opts.host_network {
        namespaces.push(json!({"type": "network"}));
    }
    let caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    let mut user_json = json!({"uid": user.uid, "gid": user.gid});
    if !user.additional_gids.is_empty() {
        user_json["additionalGids"] = json!(user.additional_gids);
    }
    let mut spec = json!({
        "ociVersion": "1.3.0",
        "process": {
            "terminal": opts.terminal,
            "user": user_json,
            "args": args,
            "env": env,
            "cwd": cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": false
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": opts.hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "annotations": annotations,
        "linux": {
            "namespaces": namespaces,
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    if opts.host_network {
        // The host's network needs the host's name resolution.
        if let Some(m) = spec["mounts"].as_array_mut() {
            for f in ["/etc/resolv.conf", "/etc/hosts"] {
                m.push(json!({"destination": f, "type": "bind", "source": f, "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]}));
            }
        }
    }
    Ok(spec)
}

/// How `write_bundle` makes the rootfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootfsKind {
    /// An overlay of the cached layers (cheap; a mount to undo with [`remove_bundle`]).
    Overlay,
    /// A flattened copy.
    Copy,
}

/// Writing a bundle failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Making the rootfs.
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    /// Making the spec.
    #[error(transparent)]
    Spec(#[from] BundleError),
    /// Store trouble.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The bundle directory.
    #[error("{0}: {1}")]
    Io(std::path::PathBuf, std::io::Error),
}

/// Writes `dir/rootfs` and `dir/config.json` for the image `desc`. Returns which
/// kind of rootfs was made (overlay falls back to a copy where overlayfs refuses).
pub fn write_bundle(
    store: &crate::store::Store,
    desc: &crate::manifest::Descriptor,
    dir: &std::path::Path,
    kind: RootfsKind,
    opts: &SpecOptions,
) -> Result<RootfsKind, WriteError> {
    let (m, cfg) = store.image(desc)?;
    let rootfs = dir.join("rootfs");
    if rootfs.exists()
        && std::fs::read_dir(&rootfs)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(WriteError::Io(
            rootfs,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "bundle rootfs exists and is not empty",
            ),
        ));
    }
    let mut made = kind;
    if kind == RootfsKind::Overlay {
        let layers = crate::rootfs::cached_layers(store, &m, &cfg)?;
        if crate::rootfs::mount_overlay(&layers, &dir.join(".hoist"), &rootfs).is_err() {
            let _ = crate::unpack::remove_tree(&dir.join(".hoist"));
            made = RootfsKind::Copy;
        }
    }
    if made == RootfsKind::Copy {
        crate::rootfs::flatten(store, &m, &cfg, &rootfs)?;
    }
    let root =
        crate::unpack::safe::Root::open(&rootfs).map_err(|e| WriteError::Io(rootfs.clone(), e))?;
    let passwd = root.read_file("etc/passwd").unwrap_or_default();
    let group = root.read_file("etc/group").unwrap_or_default();
    let spec_user = cfg
        .config
        .as_ref()
        .and_then(|c| c.user.clone())
        .unwrap_or_default();
    let result = resolve_user(&spec_user, &passwd, &group)
        .map_err(WriteError::from)
        .and_then(|u| Ok(make_spec(&cfg, &u, opts)?))
        .and_then(|spec| {
            let data = serde_json::to_vec_pretty(&spec)
                .map_err(|e| WriteError::Io(dir.join("config.json"), e.into()))?;
            // A bundle is scratch space: no fsync on the `hoist run` path.
            std::fs::write(dir.join("config.json"), &data)
                .map_err(|e| WriteError::Io(dir.join("config.json"), e))
        });
    if let Err(e) = result {
        let _ = remove_bundle(dir);
        return Err(e);
    }
    Ok(made)
}

/// Unmounts (if it is an overlay) and deletes a bundle made by [`write_bundle`].
pub fn remove_bundle(dir: &std::path::Path) -> std::io::Result<()> {
    let rootfs = dir.join("rootfs");
    if dir.join(".hoist").exists() {
        let _ = crate::rootfs::unmount(&rootfs);
    }
    crate::unpack::remove_tree(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::RunConfig;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nbob:x:1000:1000::/home/bob:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwww:x:33:\nbob:x:1000:\nwheel:x:10:bob,alice\naudio:x:29:bob\n";

    #[test]
    fn users_resolve_by_name_and_number() {
        let r = |s: &str| resolve_user(s, PASSWD, GROUP);
        let bob = r("bob").expect("bob");
        assert_eq!(
            (
                bob.uid,
                bob.gid,
                bob.additional_gids.clone(),
                bob.home.as_deref()
            ),
            (1000, 1000, vec![10, 29], Some("/home/bob"))
        );
        assert_eq!(r("www:wheel").map(|u| (u.uid, u.gid)).ok(), Some((33, 10)));
        assert_eq!(
            r("4242").map(|u| (u.uid, u.gid, u.home)).ok(),
            Some((4242, 0, None))
        );
        assert_eq!(r("33:7").map(|u| (u.uid, u.gid)).ok(), Some((33, 7)));
        assert_eq!(
            r("").map(|u| (u.uid, u.home)).ok(),
            Some((0, Some("/root".into())))
        );
        assert!(r("nobody")
            .expect_err("unknown")
            .to_string()
            .contains("no user \"nobody\""));
        assert!(r("bob:nogroup")
            .expect_err("unknown")
            .to_string()
            .contains("no group"));
    }

    #[test]
    fn spec_takes_entrypoint_cmd_env_workdir_and_labels_from_the_image() {
        let cfg = ImageConfig {
            config: Some(RunConfig {
                entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                cmd: Some(vec!["echo hi".into()]),
                env: Some(vec!["A=1".into()]),
                working_dir: Some("/srv".into()),
                labels: Some([("l".to_string(), "v".to_string())].into()),
                stop_signal: Some("SIGQUIT".into()),
                user: None,
            }),
            ..Default::default()
        };
        let u = ResolvedUser {
            uid: 5,
            gid: 6,
            additional_gids: vec![7],
            home: Some("/h".into()),
        };
        let s = make_spec(&cfg, &u, &SpecOptions::default()).expect("spec");
        assert_eq!(s["process"]["args"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(s["process"]["env"], json!([DEFAULT_PATH, "A=1", "HOME=/h"]));
        assert_eq!(s["process"]["cwd"], "/srv");
        assert_eq!(
            s["process"]["user"],
            json!({"uid": 5, "gid": 6, "additionalGids": [7]})
        );
        assert_eq!(s["annotations"]["l"], "v");
        assert_eq!(
            s["annotations"]["org.opencontainers.image.stopSignal"],
            "SIGQUIT"
        );
        let o = SpecOptions {
            command: vec!["date".into()],
            ..Default::default()
        };
        assert_eq!(
            make_spec(&cfg, &u, &o).expect("spec")["process"]["args"],
            json!(["/bin/sh", "-c", "date"])
        );
        let spec: Result<oci_spec::runtime::Spec, _> = serde_json::from_value(s);
        assert!(spec.is_ok(), "{spec:?}");
    }

    #[test]
    fn image_without_command_needs_one() {
        let e = make_spec(
            &ImageConfig::default(),
            &ResolvedUser::default(),
            &SpecOptions::default(),
        );
        assert!(matches!(e, Err(BundleError::NoCommand)));
    }
}
