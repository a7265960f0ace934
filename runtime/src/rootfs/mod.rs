//! The container's root filesystem, built inside its new mount namespace.
//!
//! Every path inside the rootfs is hostile: targets are resolved with
//! `openat2(RESOLVE_IN_ROOT)` and mounted through the descriptor, so a symlink
//! in an image can never make berth mount on, create or write anything
//! outside the rootfs.
//!
//! Mounts use the new mount API only: a bind is an `open_tree` clone, a
//! filesystem an `fsopen`/`fsmount` instance; options are applied to the
//! detached mount (`mount_setattr`, recursively for `rro`, `rnosuid`...,
//! `idmap`/`ridmap`) and it is attached with `move_mount` onto an `O_PATH`
//! descriptor of the target. Every option of the runtime-spec table is
//! understood (see `options`); others go to the filesystem as `fsconfig`
//! parameters. `iversion`/`noiversion` and `silent`/`loud` are accepted
//! without effect (the kernel manages i_version; silent only quiets logs).
//!
//! INTERFACE (owned by the rootfs work; `init` calls these three in order).
//! Relative bind sources are taken relative to the current directory, so
//! `init` should run in the bundle directory.

pub mod cgroup;
pub mod console;
mod copyup;
pub mod devices;
pub mod masked;
pub mod mounts;
pub mod options;
pub mod pivot;
pub mod sysctl;

pub use console::mount_console;

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::fs::{Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// What the rootfs stages need to know.
pub struct RootfsContext<'a> {
    /// The whole config.
    pub spec: &'a Spec,
    /// Absolute host path of the rootfs directory (bundle + root.path).
    pub rootfs: &'a Path,
    /// `--no-pivot`: MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
}

/// A failure while building the rootfs; the message names the mount or path.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RootfsError(pub String);

/// Before the createRuntime/createContainer hooks: mount propagation,
/// the rootfs bind, every entry of `mounts`, default and `linux.devices`,
/// and the /dev links. Runs in init, in the new mount namespace.
pub fn prepare(ctx: &RootfsContext) -> Result<(), RootfsError> {
    let propagation = root_propagation(ctx.spec)?;
    pivot::prepare_root(ctx.rootfs, propagation)?;
    let root = open_rootfs(ctx.rootfs)?;
    let cgroupns = has_namespace(ctx.spec, LinuxNamespaceType::Cgroup);
    for (index, m) in ctx.spec.mounts().iter().flatten().enumerate() {
        mounts::mount_entry(root.as_fd(), index, m, cgroupns)?;
    }
    let config_devices = ctx.spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    let mut nodes = devices::default_devices();
    for (index, d) in config_devices.iter().copied().flatten().enumerate() {
        nodes.push(devices::from_spec(index, d)?);
    }
    devices::with_umask_cleared(|| devices::create_all(root.as_fd(), &nodes))?;
    devices::create_links(root.as_fd())
}

/// pivot_root into the rootfs (or MS_MOVE + chroot with `no_pivot`), then
/// apply `linux.rootfsPropagation`.
pub fn enter(ctx: &RootfsContext) -> Result<(), RootfsError> {
    pivot::enter_root(ctx.rootfs, ctx.no_pivot)?;
    if let Some(propagation) = root_propagation(ctx.spec)? {
        pivot::set_root_propagation(propagation)?;
    }
    Ok(())
}

/// After pivot_root: `maskedPaths`, `readonlyPaths`, `root.readonly` and
/// `linux.sysctl` (written only through a verified, private procfs).
pub fn finish(ctx: &RootfsContext) -> Result<(), RootfsError> {
    let linux = ctx.spec.linux().as_ref();
    let masked = linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or(&[]);
    let readonly = linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or(&[]);
    let read_only_root = ctx
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false);
    if !masked.is_empty() || !readonly.is_empty() || read_only_root {
        let root = open_rootfs(Path::new("/"))?;
        masked::mask_paths(root.as_fd(), masked)?;
        masked::readonly_paths(root.as_fd(), readonly)?;
        if read_only_root {
            masked::readonly_root(root.as_fd())?;
        }
    }
    if let Some(sysctls) = linux.and_then(|l| l.sysctl().as_ref()) {
        sysctl::apply(sysctls)?;
    }
    Ok(())
}

/// `linux.rootfsPropagation`, parsed.
fn root_propagation(spec: &Spec) -> Result<Option<(u64, bool)>, RootfsError> {
    let Some(value) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    else {
        return Ok(None);
    };
    options::parse_propagation(value).map(Some).ok_or_else(|| {
        RootfsError(format!(
            "linux.rootfsPropagation \"{value}\" is not one of shared, slave, private, unbindable (or their r* forms)"
        ))
    })
}

fn has_namespace(spec: &Spec, typ: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == typ))
}

/// An `O_PATH` descriptor of the root every in-root lookup starts from.
fn open_rootfs(path: &Path) -> Result<OwnedFd, RootfsError> {
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RootfsError(format!("opening the rootfs \"{}\": {e}", path.display())))
}
