//! `berth create`: validate, make the state dir and cgroup, launch init and
//! leave it waiting for `start`. On any failure nothing is left behind.

use super::{procstat::ProcStat, state::oci_state_json, ContainerState, Error, StateFile, Status};
use crate::cgroups::Cgroup;
use crate::init::InitContext;
use crate::spec::{self, ValidateOptions};
use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// `berth create` options (runc's flags).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
}

/// Undoes a half-made container unless disarmed.
struct Cleanup {
    dir: Option<PathBuf>,
    cgroup: Option<Cgroup>,
    pid: Option<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            if let Ok(fd) = crate::sys::pidfd::open(pid) {
                let _ = crate::sys::pidfd::send_signal(&fd, libc::SIGKILL);
                let _ = crate::sys::pidfd::wait_exit(&fd, Some(std::time::Duration::from_secs(10)));
            }
        }
        if let Some(cg) = &self.cgroup {
            // Whatever is still in the cgroup (an init whose pid never
            // reached us) must go too, or the cgroup cannot be removed.
            let _ = cg.kill_all(libc::SIGKILL);
            let _ = cg.destroy();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Creates container `opts.id` under `root`; returns its state.
pub fn create(root: &Path, opts: &CreateOptions) -> Result<ContainerState, Error> {
    let (bundle, spec) = load_bundle(opts)?;
    create_loaded(root, opts, bundle, spec)
}

/// Checks the id and reads the bundle's config: the absolute bundle path
/// and the parsed spec.
pub(super) fn load_bundle(opts: &CreateOptions) -> Result<(PathBuf, Spec), Error> {
    super::check_id(&opts.id)?;
    let bundle = std::fs::canonicalize(&opts.bundle)
        .map_err(|e| Error::Other(format!("bundle \"{}\": {e}", opts.bundle.display())))?;
    let spec = spec::load(&bundle)?;
    Ok((bundle, spec))
}

/// `create` for a config already read by [`load_bundle`] (so `run` reads
/// config.json once).
pub(super) fn create_loaded(
    root: &Path,
    opts: &CreateOptions,
    bundle: PathBuf,
    spec: Spec,
) -> Result<ContainerState, Error> {
    spec::validate(
        &spec,
        &ValidateOptions {
            bundle: &bundle,
            need_process: true,
        },
    )?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Spec(crate::spec::SpecError::config("process is missing")))?;
    crate::process::check(process).map_err(|e| Error::Other(format!("config.json: {e}")))?;
    if let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) {
        crate::process::personality::check(p)
            .map_err(|e| Error::Other(format!("config.json: {e}")))?;
    }
    if let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        crate::process::mempolicy::check(p)
            .map_err(|e| Error::Other(format!("config.json: {e}")))?;
    }
    let net_devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().clone())
        .unwrap_or_default();
    if !net_devices.is_empty() {
        if !crate::spec::validate::has_new_namespace(
            &spec,
            oci_spec::runtime::LinuxNamespaceType::Network,
        ) {
            return Err(Error::Other(
                "config.json: linux.netDevices needs a new network namespace".into(),
            ));
        }
        crate::netdev::check(&net_devices).map_err(Error::Other)?;
    }
    for w in crate::process::warnings(process) {
        crate::logging::warn(&w);
    }
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(profile) => Some(
            crate::seccomp::Filter::compile(profile)
                .map_err(|e| Error::Other(format!("config.json: {e}")))?,
        ),
        None => None,
    };
    let terminal = process.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() {
        return Err(Error::Other(
            "config.json: process.terminal is true but no --console-socket was given".into(),
        ));
    }
    let rootfs = bundle.join(
        spec.root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default(),
    );
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| Error::Other(format!("root.path \"{}\": {e}", rootfs.display())))?;

    // From here on, everything made is undone on failure.
    std::fs::create_dir_all(root)
        .map_err(|e| Error::io(format!("--root {}", root.display()), e))?;
    let dir = super::dir(root, &opts.id);
    std::fs::create_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Exists(opts.id.clone()),
        _ => Error::io(format!("create {}", dir.display()), e),
    })?;
    let mut cleanup = Cleanup {
        dir: Some(dir.clone()),
        cgroup: None,
        pid: None,
    };
    let _lock = super::Lock::exclusive(&dir, &opts.id)?;

    let cgroups_path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    let cgroup = Cgroup::resolve(cgroups_path.as_deref(), &opts.id)
        .map_err(|e| Error::Other(e.to_string()))?;
    // The nodes in linux.devices must stay usable under the device rules.
    let resources = spec.linux().as_ref().and_then(|l| {
        l.resources().as_ref().map(|r| {
            crate::cgroups::devices::with_device_nodes(r, l.devices().as_deref().unwrap_or(&[]))
        })
    });
    cgroup
        .create(resources.as_ref())
        .map_err(|e| Error::Other(e.to_string()))?;
    cleanup.cgroup = Some(cgroup.clone());

    let exec_fifo = make_exec_fifo(&dir, container_root_ids(&spec))?;
    let console_socket = match &opts.console_socket {
        Some(p) if terminal => Some(
            UnixStream::connect(p)
                .map_err(|e| Error::Other(format!("--console-socket {}: {e}", p.display())))?,
        ),
        _ => None,
    };
    let seccomp_listener = match spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_path().as_ref())
    {
        Some(p) => Some(UnixStream::connect(p).map_err(|e| {
            Error::Other(format!(
                "config.json: linux.seccomp.listenerPath \"{}\": {e}",
                p.display()
            ))
        })?),
        None => None,
    };

    let mut state = ContainerState {
        oci_version: spec.version().clone(),
        id: opts.id.clone(),
        pid: 0,
        pid_start_time: 0,
        bundle: bundle.clone(),
        rootfs: rootfs.clone(),
        created: crate::logging::rfc3339_now(),
        owner: owner(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: Some(cgroup.clone()),
        spec: spec.clone(),
    };
    let ctx = InitContext {
        spec,
        rootfs,
        bundle: bundle.clone(),
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        exec_fifo,
        console_socket,
        seccomp,
        seccomp_listener,
    };
    let hooks = state.spec.hooks().clone();
    let hook_base = state.clone();
    let pid = crate::launch::launch(
        crate::launch::Child::Init(Box::new(ctx)),
        Some(&cgroup),
        |pid| {
            crate::netdev::move_all(&net_devices, pid)?;
            let mut st = hook_base.clone();
            st.pid = pid;
            let json = oci_state_json(&st, Status::Creating).to_string();
            let h = hooks.as_ref();
            crate::hooks::run_all("prestart", h.and_then(|h| h.prestart().as_ref()), &json)
                .map_err(|e| e.to_string())?;
            crate::hooks::run_all(
                "createRuntime",
                h.and_then(|h| h.create_runtime().as_ref()),
                &json,
            )
            .map_err(|e| e.to_string())?;
            Ok(json)
        },
    )
    .map_err(|e| {
        cleanup.pid = e.init_pid;
        Error::Other(e.msg)
    })?;
    cleanup.pid = Some(pid);
    state.pid = pid;
    state.pid_start_time = ProcStat::read(pid)
        .map(|p| p.start_time)
        .ok_or_else(|| Error::Other("container init exited during setup".into()))?;
    StateFile::save(&dir, &state)?;
    if let Some(pf) = &opts.pid_file {
        write_pid_file(pf, pid)?;
    }
    cleanup.dir = None;
    cleanup.cgroup = None;
    cleanup.pid = None;
    Ok(state)
}

/// The host uid and gid of the container's root, when a user namespace maps
/// it (init runs as that user and must be able to open exec.fifo).
fn container_root_ids(spec: &oci_spec::runtime::Spec) -> Option<(u32, u32)> {
    let linux = spec.linux().as_ref()?;
    let host = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.as_ref()?
            .iter()
            .find(|m| m.container_id() == 0)
            .map(|m| m.host_id())
    };
    Some((host(linux.uid_mappings())?, host(linux.gid_mappings())?))
}

fn make_exec_fifo(dir: &Path, owner: Option<(u32, u32)>) -> Result<OwnedFd, Error> {
    let path = dir.join(super::EXEC_FIFO);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| Error::io(format!("mkfifo {}", path.display()), e.into()))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid))
            .map_err(|e| Error::io(format!("chown {}", path.display()), e))?;
    }
    nix::fcntl::open(
        &path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::io(format!("open {}", path.display()), e.into()))
}

/// Writes the pid file atomically, as managers poll for it.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<(), Error> {
    let tmp = path.with_extension("berth-tmp");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("--pid-file {}", path.display()), e))
}

fn owner() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}
