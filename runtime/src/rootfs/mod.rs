//! The container's root filesystem, built inside its new mount namespace.
//!
//! Every path inside the rootfs is hostile: targets are resolved with
//! `openat2(RESOLVE_IN_ROOT)` and mounted through the descriptor, so a symlink
//! in an image can never make berth mount on, create or write anything
//! outside the rootfs.
//!
//! INTERFACE (owned by the rootfs work; `init` calls these three in order).

use oci_spec::runtime::Spec;
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
pub fn prepare(_ctx: &RootfsContext) -> Result<(), RootfsError> {
    unimplemented!("rootfs::prepare")
}

/// pivot_root into the rootfs (or MS_MOVE + chroot with `no_pivot`), then
/// apply `linux.rootfsPropagation`.
pub fn enter(_ctx: &RootfsContext) -> Result<(), RootfsError> {
    unimplemented!("rootfs::enter")
}

/// After pivot_root: `maskedPaths`, `readonlyPaths`, `root.readonly` and
/// `linux.sysctl` (written only through a verified, private procfs).
pub fn finish(_ctx: &RootfsContext) -> Result<(), RootfsError> {
    unimplemented!("rootfs::finish")
}
