//! Performs the entries of `mounts`, each attached through a descriptor of
//! its target resolved inside the rootfs.

use super::options::{self, Bind, MountOptions};
use super::{cgroup, copyup};
use crate::sys::idmap;
use crate::sys::mountapi::{self, AttrChange, FsParam};
use crate::sys::procfs;
use crate::sys::resolve;
use oci_spec::runtime::{LinuxIdMapping, Mount};
use rustix::fs::{FileType, OFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Performs mount entry `index`; errors name the entry and its destination.
pub fn mount_entry(
    root: BorrowedFd<'_>,
    index: usize,
    m: &Mount,
    cgroupns: bool,
) -> Result<(), super::RootfsError> {
    let dest = m.destination();
    mount_entry_inner(root, m, cgroupns).map_err(|what| {
        super::RootfsError(format!(
            "mounts[{index}] (destination \"{}\"): {what}",
            dest.display()
        ))
    })
}

fn mount_entry_inner(root: BorrowedFd<'_>, m: &Mount, cgroupns: bool) -> Result<(), String> {
    let rel = resolve::clean_in_root(m.destination());
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("");
    if opts.remount {
        return remount(root, &rel, &opts);
    }
    let bind = opts.bind.or((typ == "bind").then_some(Bind::Single));
    if typ == "cgroup" && bind.is_none() {
        return cgroup::mount(root, &rel, &opts, cgroupns);
    }
    // procfs and sysfs carry the container's security knobs: mounting them
    // through a symlink could put them somewhere else and leave a fake in
    // their place (CVE-2019-16884), so refuse, as runc does.
    if bind.is_none() && (typ == "proc" || typ == "sysfs") && resolve::has_symlink(root, &rel) {
        return Err(format!(
            "{typ} must be mounted on a directory, not through a symlink in the rootfs"
        ));
    }
    let (tree, is_dir) = match bind {
        Some(kind) => bind_source(m, kind == Bind::Recursive, &opts)?,
        None => (new_filesystem(typ, m, &opts)?, true),
    };
    let target = if is_dir {
        resolve::ensure_dir(root, &rel)
    } else {
        resolve::ensure_file(root, &rel)
    }
    .map_err(|e| format!("creating the mount target: {e}"))?;
    if opts.tmpcopyup {
        copyup::copy_dir(target.as_fd(), tree.as_fd()).map_err(|e| format!("tmpcopyup: {e}"))?;
    }
    mountapi::set_attr(tree.as_fd(), true, opts.rec_attrs.change(), None)
        .map_err(|e| format!("setting recursive options: {e}"))?;
    if let Some(recursive) = opts.idmap {
        let userns = idmap_userns(m)?;
        let change = AttrChange {
            set: mountapi::MOUNT_ATTR_IDMAP,
            ..AttrChange::default()
        };
        mountapi::set_attr(tree.as_fd(), recursive, change, Some(userns.as_fd()))
            .map_err(|e| format!("idmapping the mount: {e}"))?;
    }
    mountapi::attach(tree.as_fd(), target.as_fd()).map_err(|e| format!("attaching: {e}"))?;
    set_propagation(tree.as_fd(), &opts.propagation)
}

/// A detached clone of the bind source with the per-mount options applied.
fn bind_source(m: &Mount, recursive: bool, opts: &MountOptions) -> Result<(OwnedFd, bool), String> {
    let source = m.source().as_deref().ok_or("a bind mount needs a source")?;
    let tree = mountapi::clone_tree(rustix::fs::CWD, source, recursive)
        .map_err(|e| format!("opening bind source \"{}\": {e}", source.display()))?;
    let st = rustix::fs::fstat(&tree).map_err(|e| format!("stat of bind source: {e}"))?;
    set_attr_keeping_locked(tree.as_fd(), opts.attrs.change())
        .map_err(|e| format!("setting mount options: {e}"))?;
    Ok((
        tree,
        FileType::from_raw_mode(st.st_mode) == FileType::Directory,
    ))
}

/// `mount_setattr`, and when a user namespace refuses to clear a flag the
/// source mount has locked (nosuid, nodev, noexec, atime), again keeping
/// those flags, as `mount(2)` users must do by hand.
fn set_attr_keeping_locked(tree: BorrowedFd<'_>, change: AttrChange) -> Result<(), Errno> {
    match mountapi::set_attr(tree, false, change, None) {
        Err(Errno::PERM) => {
            let current = rustix::fs::fstatvfs(tree)?.f_flag.bits();
            let kept = keep_locked(change, current);
            if kept == change {
                return Err(Errno::PERM);
            }
            mountapi::set_attr(tree, false, kept, None)
        }
        other => other,
    }
}

/// `change` without clearing what `statvfs` flags (`ST_*`) say is set among
/// nosuid, nodev, noexec and the atime mode.
fn keep_locked(change: AttrChange, st_flags: u64) -> AttrChange {
    let mut keep = 0;
    for (st, attr) in [
        (libc::ST_NOSUID, mountapi::MOUNT_ATTR_NOSUID),
        (libc::ST_NODEV, mountapi::MOUNT_ATTR_NODEV),
        (libc::ST_NOEXEC, mountapi::MOUNT_ATTR_NOEXEC),
    ] {
        if st_flags & st != 0 {
            keep |= attr;
        }
    }
    let mut kept = AttrChange {
        clr: change.clr & !keep,
        ..change
    };
    if change.clr & mountapi::MOUNT_ATTR__ATIME != 0 && st_flags & libc::ST_NOATIME != 0 {
        // The atime mode is locked as a whole: leave it as it is.
        kept.clr &= !mountapi::MOUNT_ATTR__ATIME;
        kept.set &= !mountapi::MOUNT_ATTR__ATIME;
    }
    kept
}

/// A new, detached filesystem of type `typ` with the entry's options.
/// The superblock flags (all, or only those set) and the filesystem data
/// options of a mount entry, as fsconfig parameters.
fn fs_params(opts: &MountOptions, only_set: bool) -> Vec<FsParam<'_>> {
    let mut params: Vec<FsParam<'_>> = opts
        .sb
        .params(only_set)
        .into_iter()
        .map(FsParam::Flag)
        .collect();
    for option in &opts.data {
        params.push(match options::split_data(option) {
            (key, Some(value)) => FsParam::Value(key, value),
            (key, None) => FsParam::Flag(key),
        });
    }
    params
}

fn new_filesystem(typ: &str, m: &Mount, opts: &MountOptions) -> Result<OwnedFd, String> {
    if typ.is_empty() {
        return Err("no type and no bind option".into());
    }
    let source = m.source().as_deref().and_then(Path::to_str);
    let params = fs_params(opts, true);
    match mountapi::new_fs(typ, source, &params, opts.attrs.set) {
        Ok(fd) => Ok(fd),
        // devpts refuses a gid= (or uid=) that the user namespace does not
        // map, e.g. "gid=5" when only one id is mapped: drop it, as crun does.
        Err(e) if e.errno == Errno::INVAL && typ == "devpts" && has_id_param(&params) => {
            let params: Vec<_> = params.into_iter().filter(|p| !is_id_param(p)).collect();
            mountapi::new_fs(typ, source, &params, opts.attrs.set)
                .map_err(|e2| format!("{typ}: {e}; and without uid/gid: {e2}"))
        }
        // Without its own network (or ipc) namespace a user namespace may not
        // mount sysfs (or mqueue): bind the host's, as runc does.
        Err(e) if e.errno == Errno::PERM && host_fallback(typ).is_some() => {
            let (host, recursive) = host_fallback(typ).unwrap_or(("/sys", true));
            let tree = mountapi::clone_tree(rustix::fs::CWD, Path::new(host), recursive)
                .map_err(|e2| format!("{typ}: {e}; binding \"{host}\" instead: {e2}"))?;
            let mut attrs = opts.attrs.change();
            attrs.set |= mountapi::MOUNT_ATTR_NOSUID
                | mountapi::MOUNT_ATTR_NODEV
                | mountapi::MOUNT_ATTR_NOEXEC;
            mountapi::set_attr(tree.as_fd(), recursive, attrs, None)
                .map_err(|e| format!("setting options on \"{host}\": {e}"))?;
            Ok(tree)
        }
        Err(e) => Err(format!("{typ}: {e}")),
    }
}

fn is_id_param(p: &FsParam<'_>) -> bool {
    matches!(p, FsParam::Value("gid" | "uid", _))
}

fn has_id_param(params: &[FsParam<'_>]) -> bool {
    params.iter().any(is_id_param)
}

/// The host mount that stands in for `typ` when a user namespace may not
/// mount it afresh, and whether it is taken with its submounts.
fn host_fallback(typ: &str) -> Option<(&'static str, bool)> {
    match typ {
        "sysfs" => Some(("/sys", true)),
        "mqueue" => Some(("/dev/mqueue", false)),
        _ => None,
    }
}

/// `remount`: change the options of the mount already at the destination.
fn remount(root: BorrowedFd<'_>, rel: &Path, opts: &MountOptions) -> Result<(), String> {
    let target = resolve::open_in_root(root, rel, OFlags::PATH)
        .map_err(|e| format!("opening the remount target: {e}"))?;
    mountapi::set_attr(target.as_fd(), false, opts.attrs.change(), None)
        .map_err(|e| format!("remount: {e}"))?;
    mountapi::set_attr(target.as_fd(), true, opts.rec_attrs.change(), None)
        .map_err(|e| format!("remount (recursive options): {e}"))?;
    let params = fs_params(opts, false);
    if !params.is_empty() {
        mountapi::reconfigure(target.as_fd(), &params).map_err(|e| format!("remount: {e}"))?;
    }
    set_propagation(target.as_fd(), &opts.propagation)
}

fn set_propagation(mount: BorrowedFd<'_>, changes: &[(u64, bool)]) -> Result<(), String> {
    for &(propagation, recursive) in changes {
        let change = AttrChange {
            propagation,
            ..AttrChange::default()
        };
        mountapi::set_attr(mount, recursive, change, None)
            .map_err(|e| format!("setting propagation: {e}"))?;
    }
    Ok(())
}

/// The user namespace an idmapped mount uses: one made from the entry's own
/// maps, or the container's when the entry has none.
fn idmap_userns(m: &Mount) -> Result<OwnedFd, String> {
    match (m.uid_mappings(), m.gid_mappings()) {
        (Some(uids), Some(gids)) => idmap::userns_with_maps(&map_lines(uids), &map_lines(gids))
            .map_err(|e| format!("making the idmap user namespace: {e}")),
        (None, None) => {
            let ns_dir = procfs::open_proc("self/ns", OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|e| e.to_string())?;
            rustix::fs::openat(
                &ns_dir,
                "user",
                OFlags::RDONLY | OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| format!("opening the container's user namespace: {e}"))
        }
        _ => Err("uidMappings and gidMappings must be given together".into()),
    }
}

/// The `uid_map` text for `maps`: one "container host size" line each.
pub fn map_lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxIdMappingBuilder;

    #[test]
    fn map_lines_writes_container_host_size() {
        let maps = [
            LinuxIdMappingBuilder::default()
                .container_id(0u32)
                .host_id(1000u32)
                .size(1u32)
                .build()
                .unwrap(),
            LinuxIdMappingBuilder::default()
                .container_id(1u32)
                .host_id(100000u32)
                .size(65536u32)
                .build()
                .unwrap(),
        ];
        assert_eq!(map_lines(&maps), "0 1000 1\n1 100000 65536\n");
    }

    #[test]
    fn keep_locked_stops_clearing_only_flags_the_mount_has() {
        let change = AttrChange {
            set: mountapi::MOUNT_ATTR_RDONLY,
            clr: mountapi::MOUNT_ATTR_NOSUID
                | mountapi::MOUNT_ATTR_NOEXEC
                | mountapi::MOUNT_ATTR_NODEV,
            propagation: 0,
        };
        let kept = keep_locked(change, libc::ST_NOSUID | libc::ST_NODEV);
        assert_eq!(kept.set, mountapi::MOUNT_ATTR_RDONLY);
        assert_eq!(kept.clr, mountapi::MOUNT_ATTR_NOEXEC);
        let atime = AttrChange {
            set: mountapi::MOUNT_ATTR_STRICTATIME,
            clr: mountapi::MOUNT_ATTR__ATIME,
            propagation: 0,
        };
        assert_eq!(keep_locked(atime, libc::ST_NOATIME), AttrChange::default());
        assert_eq!(keep_locked(atime, 0), atime);
    }

    #[test]
    fn devpts_retry_drops_only_uid_and_gid() {
        let params = [
            FsParam::Flag("newinstance"),
            FsParam::Value("gid", "5"),
            FsParam::Value("mode", "0620"),
            FsParam::Value("uid", "0"),
        ];
        assert!(has_id_param(&params));
        let kept: Vec<_> = params.iter().filter(|p| !is_id_param(p)).collect();
        assert_eq!(
            kept,
            [
                &FsParam::Flag("newinstance"),
                &FsParam::Value("mode", "0620")
            ]
        );
    }

    #[test]
    fn only_sysfs_and_mqueue_fall_back_to_host_binds() {
        assert_eq!(host_fallback("sysfs"), Some(("/sys", true)));
        assert_eq!(host_fallback("mqueue"), Some(("/dev/mqueue", false)));
        assert_eq!(host_fallback("proc"), None);
    }
}
