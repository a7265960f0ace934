//! Mount propagation of "/", the rootfs bind, and the switch into it.

use super::RootfsError;
use crate::sys::mountapi::{self, AttrChange, MS_SHARED, MS_SLAVE};
use crate::sys::procfs;
use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
use rustix::mount::{self, MountPropagationFlags, UnmountFlags};
use std::os::fd::AsFd;
use std::path::Path;

/// Propagation of "/" before anything is mounted (rslave unless the config
/// asks otherwise), then the rootfs bound on itself so it is a mount point.
pub fn prepare_root(rootfs: &Path, propagation: Option<(u64, bool)>) -> Result<(), RootfsError> {
    // Recursive whatever the config says (except shared, which stays as
    // asked): no mount made here may reach a host peer. The exact value is
    // applied to the new "/" after pivot_root.
    let (kind, recursive) = match propagation {
        Some((MS_SHARED, recursive)) => (MS_SHARED, recursive),
        Some((kind, _)) => (kind, true),
        None => (MS_SLAVE, true),
    };
    mount::mount_change("/", propagation_flags(kind, recursive))
        .map_err(|e| RootfsError(format!("setting the propagation of / : {e}")))?;
    if kind == MS_SHARED {
        // pivot_root refuses a shared parent; only then is it worth finding.
        make_parent_private(rootfs)?;
    }
    mount::mount_bind_recursive(rootfs, rootfs).map_err(|e| {
        RootfsError(format!(
            "binding the rootfs \"{}\" on itself: {e}",
            rootfs.display()
        ))
    })
}

/// pivot_root into `rootfs` and detach the old root, or with `no_pivot`
/// move the rootfs onto "/" and chroot into it.
pub fn enter_root(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    let err = |what: &str, e: rustix::io::Errno| {
        RootfsError(format!("{what} (rootfs \"{}\"): {e}", rootfs.display()))
    };
    let new_root = rustix::fs::open(
        rootfs,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("opening the rootfs", e))?;
    rustix::process::fchdir(&new_root).map_err(|e| err("chdir into the rootfs", e))?;
    if no_pivot {
        mount::mount_move(".", "/").map_err(|e| err("moving the rootfs onto /", e))?;
        rustix::process::chroot(".").map_err(|e| err("chroot", e))?;
    } else {
        // A handle on the old root: after pivot_root a path lookup of "."
        // reaches the new root, not the old one stacked on it.
        let old_root = rustix::fs::open(
            "/",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err("opening the old root", e))?;
        rustix::process::pivot_root(".", ".").map_err(|e| err("pivot_root", e))?;
        // Make the old tree rslave so its unmount cannot propagate back to
        // the host, then detach it (umount follows "." to the top mount).
        let slave = AttrChange {
            propagation: MS_SLAVE,
            ..AttrChange::default()
        };
        mountapi::set_attr(old_root.as_fd(), true, slave, None)
            .map_err(|e| err("making the old root rslave", e))?;
        drop(old_root);
        mount::unmount(".", UnmountFlags::DETACH).map_err(|e| err("detaching the old root", e))?;
    }
    rustix::process::chdir("/").map_err(|e| err("chdir /", e))
}

/// `linux.rootfsPropagation` on the new "/".
pub fn set_root_propagation((kind, recursive): (u64, bool)) -> Result<(), RootfsError> {
    mount::mount_change("/", propagation_flags(kind, recursive))
        .map_err(|e| RootfsError(format!("linux.rootfsPropagation: setting it on /: {e}")))
}

fn propagation_flags(kind: u64, recursive: bool) -> MountPropagationFlags {
    let mut flags = MountPropagationFlags::from_bits_retain(kind as u32);
    if recursive {
        flags |= MountPropagationFlags::REC;
    }
    flags
}

/// Makes the mount holding `rootfs` private (found by mount id in
/// /proc/self/mountinfo), so the rootfs bind is not shared with the host.
fn make_parent_private(rootfs: &Path) -> Result<(), RootfsError> {
    let err = |what: String| RootfsError(format!("rootfs \"{}\": {what}", rootfs.display()));
    let stx = rustix::fs::statx(
        rustix::fs::CWD,
        rootfs,
        AtFlags::empty(),
        StatxFlags::MNT_ID,
    )
    .map_err(|e| err(format!("statx: {e}")))?;
    let fd = procfs::open_proc("self/mountinfo", OFlags::RDONLY).map_err(|e| err(e.to_string()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text)
        .map_err(|e| err(format!("reading mountinfo: {e}")))?;
    let mount_point = mount_point_of(&text, stx.stx_mnt_id)
        .ok_or_else(|| err(format!("mount {} is not in mountinfo", stx.stx_mnt_id)))?;
    mount::mount_change(mount_point.as_str(), MountPropagationFlags::PRIVATE)
        .map_err(|e| err(format!("making its mount \"{mount_point}\" private: {e}")))
}

/// The mount point of mount `id` in mountinfo text, octal escapes decoded.
pub fn mount_point_of(mountinfo: &str, id: u64) -> Option<String> {
    let wanted = id.to_string();
    let line = mountinfo
        .lines()
        .find(|l| l.split(' ').next() == Some(wanted.as_str()))?;
    let escaped = line.split(' ').nth(4)?;
    Some(unescape_octal(escaped))
}

/// Decodes mountinfo's `\040`-style escapes.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_point_of_finds_the_mount_by_id_and_decodes_spaces() {
        let text = "22 1 8:1 / / rw - ext4 /dev/vda rw\n\
                    57 22 0:50 / /var/lib/my\\040dir rw shared:3 - tmpfs tmpfs rw\n";
        assert_eq!(mount_point_of(text, 22).as_deref(), Some("/"));
        assert_eq!(mount_point_of(text, 57).as_deref(), Some("/var/lib/my dir"));
        assert_eq!(mount_point_of(text, 5), None);
    }
}
