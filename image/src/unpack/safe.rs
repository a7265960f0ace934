//! File operations confined to a root directory.
//!
//! Every multi-component path is resolved with `openat2(RESOLVE_IN_ROOT)`, so `..`
//! and symlinks (absolute or relative) resolve as if the root were `/`; the final
//! component is then handled with `*at` calls that do not follow it.

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::os::fd::{AsFd, OwnedFd};

/// An open directory that paths are resolved inside of.
pub struct Root {
    fd: OwnedFd,
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

impl Root {
    /// Opens `path` as the root.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let fd = rfs::open(path, DIR_FLAGS, Mode::empty())?;
        Ok(Root { fd })
    }

    /// Opens the directory at `comps` inside the root, creating missing directories
    /// (mode 0755) when `create` is set.
    pub fn open_dir(&self, comps: &[OsString], create: bool) -> Result<OwnedFd, Errno> {
        match self.open_in_root(comps) {
            Err(Errno::NOENT) if create => {}
            r => return r,
        }
        let mut cur = self.open_in_root(&[])?;
        for i in 0..comps.len() {
            match self.open_in_root(&comps[..=i]) {
                Ok(fd) => cur = fd,
                Err(Errno::NOENT) => {
                    match rfs::mkdirat(&cur, comps[i].as_os_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e),
                    }
                    cur = self.open_in_root(&comps[..=i])?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }

    /// Reads a small file at `path` inside the root (symlinks resolved inside the root).
    pub fn read_file(&self, path: &str) -> Option<String> {
        let fd = rfs::openat2(
            &self.fd,
            path,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            resolve_flags(),
        )
        .ok()?;
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd).take(4 << 20), &mut s).ok()?;
        Some(s)
    }

    fn open_in_root(&self, comps: &[OsString]) -> Result<OwnedFd, Errno> {
        let p = super::paths::join(comps);
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
        let mut tries = 0;
        loop {
            match rfs::openat2(&self.fd, &p, DIR_FLAGS, Mode::empty(), resolve_flags()) {
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                r => return r,
            }
        }
    }
}

/// Removes `name` in `dir`, recursing into directories without following symlinks.
pub fn remove_at(dir: impl AsFd, name: &OsStr) -> Result<(), Errno> {
    let dir = dir.as_fd();
    let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    if rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory {
        let sub = rfs::openat(dir, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
        clear_dir(&sub, |_| false)?;
        rfs::unlinkat(dir, name, AtFlags::REMOVEDIR)
    } else {
        rfs::unlinkat(dir, name, AtFlags::empty())
    }
}

/// Removes every entry of `dir` for which `keep` is false.
pub fn clear_dir(dir: &OwnedFd, keep: impl Fn(&OsStr) -> bool) -> Result<(), Errno> {
    let mut names: Vec<OsString> = Vec::new();
    for e in rfs::Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        let n = std::os::unix::ffi::OsStrExt::from_bytes(n);
        let n: &OsStr = n;
        if !keep(n) {
            names.push(n.to_os_string());
        }
    }
    for n in names {
        remove_at(dir, &n)?;
    }
    Ok(())
}

/// The file type at `name` in `dir` (not following a symlink), if anything is there.
pub fn kind_at(dir: impl AsFd, name: &OsStr) -> Result<Option<rfs::FileType>, Errno> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(rfs::FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}
