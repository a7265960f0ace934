//! Applying layer tars to a rootfs, safely.
//!
//! Entries are applied in order; whiteouts and opaque markers only hide content of
//! lower layers (an entry of the same layer always survives them, whatever the order).
//! Every path is confined to the rootfs by [`safe::Root`].

pub mod paths;
pub mod safe;

use crate::digest::Digest;
use crate::manifest::Compression;
use paths::Name;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Unpack failures: each names the layer entry at fault.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Reading or decompressing the layer failed.
    #[error("{layer}: reading layer: {err}")]
    Read {
        /// Which layer.
        layer: String,
        /// What happened.
        err: io::Error,
    },
    /// Applying one entry failed.
    #[error("{layer}: entry {entry:?}: {what}: {err}")]
    Entry {
        /// Which layer.
        layer: String,
        /// Entry path as written in the tar.
        entry: String,
        /// The operation.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
    /// The uncompressed tar did not hash to the diff-id in the image config.
    #[error("{layer}: uncompressed content has digest {actual}, the image config says {expected}")]
    DiffId {
        /// Which layer.
        layer: String,
        /// diff-id from the config.
        expected: Digest,
        /// What the tar hashed to.
        actual: Digest,
    },
}

/// What a layer is applied to, which decides how whiteouts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Apply onto the accumulated rootfs: whiteouts delete.
    Flatten,
    /// Write one layer on its own for overlayfs: whiteouts become 0/0 character
    /// devices and opaque markers the `trusted.overlay.opaque` xattr.
    Overlay,
}

/// Options for [`apply_layer`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Whiteout handling.
    pub mode: Target,
    /// Restore ownership (needs root).
    pub chown: bool,
    /// Lower layer directories (top first) to copy hardlink targets from in overlay mode.
    pub lowers: Vec<PathBuf>,
    /// Expected digest of the uncompressed tar.
    pub diff_id: Option<Digest>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            mode: Target::Flatten,
            chown: rustix::process::geteuid().is_root(),
            lowers: vec![],
            diff_id: None,
        }
    }
}

/// Wraps a compressed stream in its decompressor.
pub fn decompress<'a>(r: impl Read + 'a, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 << 10, r),
        )),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(io::BufReader::new(r))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?,
        ),
    })
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Applies one (already decompressed) layer tar onto `rootfs`. `layer` names it in errors.
pub fn apply_layer(
    rootfs: &Path,
    tar_stream: impl Read,
    layer: &str,
    opts: &ApplyOptions,
) -> Result<(), UnpackError> {
    let root = safe::Root::open(rootfs).map_err(|err| UnpackError::Read {
        layer: layer.into(),
        err,
    })?;
    let mut hr = HashingReader {
        inner: tar_stream,
        hasher: Sha256::new(),
    };
    let mut ap = Applier {
        root: &root,
        layer,
        opts,
        seen: HashSet::new(),
        dir_times: Vec::new(),
        buf: vec![0; 256 << 10],
    };
    {
        let mut archive = tar::Archive::new(&mut hr);
        let entries = archive.entries().map_err(|err| UnpackError::Read {
            layer: layer.into(),
            err,
        })?;
        for e in entries {
            let mut e = e.map_err(|err| UnpackError::Read {
                layer: layer.into(),
                err,
            })?;
            ap.entry(&mut e)?;
        }
    }
    // Hash the trailing padding too, so the diff-id covers the whole stream.
    io::copy(&mut hr, &mut io::sink()).map_err(|err| UnpackError::Read {
        layer: layer.into(),
        err,
    })?;
    if let Some(want) = &opts.diff_id {
        let got = Digest::from_hasher(hr.hasher);
        if &got != want {
            return Err(UnpackError::DiffId {
                layer: layer.into(),
                expected: want.clone(),
                actual: got,
            });
        }
    }
    // Directory mtimes last: creating entries inside changed them. Deepest first.
    for (comps, ts) in ap.dir_times.iter().rev() {
        if let Ok(fd) = root.open_dir(comps, false) {
            let _ = rfs::futimens(&fd, ts);
        }
    }
    Ok(())
}

struct Applier<'a> {
    root: &'a safe::Root,
    layer: &'a str,
    opts: &'a ApplyOptions,
    /// Paths this layer wrote; whiteouts of the same layer must not remove them.
    seen: HashSet<Vec<OsString>>,
    dir_times: Vec<(Vec<OsString>, Timestamps)>,
    /// Reused copy buffer: large writes mean few syscalls.
    buf: Vec<u8>,
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timestamps,
    xattrs: Vec<(String, Vec<u8>)>,
}

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

impl Applier<'_> {
    fn fail(&self, entry: &Path, what: &'static str) -> impl FnOnce(Errno) -> UnpackError + '_ {
        let entry = entry.display().to_string();
        move |e| UnpackError::Entry {
            layer: self.layer.into(),
            entry,
            what,
            err: errno(e),
        }
    }

    /// The target of a symlink or hardlink entry.
    fn link_target<R: Read>(
        &self,
        e: &tar::Entry<'_, R>,
        raw_path: &Path,
        what: &'static str,
    ) -> Result<std::path::PathBuf, UnpackError> {
        e.link_name()
            .ok()
            .flatten()
            .map(|t| t.into_owned())
            .ok_or_else(|| UnpackError::Entry {
                layer: self.layer.into(),
                entry: raw_path.display().to_string(),
                what,
                err: io::ErrorKind::InvalidData.into(),
            })
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw_path = e
            .path()
            .map_err(|err| UnpackError::Read {
                layer: self.layer.into(),
                err,
            })?
            .into_owned();
        let kind = e.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let comps = paths::clean(&raw_path);
        let Some((name, parent)) = comps.split_last() else {
            return Ok(()); // the root itself: keep the rootfs directory's own metadata
        };
        let meta = self.meta(e, &raw_path)?;
        match paths::classify(name) {
            Name::Opaque => return self.opaque(parent, &raw_path),
            Name::Whiteout(target) => return self.whiteout(parent, target, &raw_path),
            Name::Plain => {}
        }
        let dir = self
            .root
            .open_dir(parent, true)
            .map_err(self.fail(&raw_path, "opening parent directory"))?;
        let existing =
            safe::kind_at(&dir, name).map_err(self.fail(&raw_path, "inspecting existing entry"))?;
        let is_dir = kind == tar::EntryType::Directory;
        let reuse_dir = is_dir && existing == Some(FileType::Directory);
        if existing.is_some() && !reuse_dir {
            safe::remove_at(&dir, name)
                .map_err(self.fail(&raw_path, "replacing existing entry"))?;
        }
        self.seen.insert(comps.clone());
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = rfs::openat(
                    &dir,
                    name.as_os_str(),
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(self.fail(&raw_path, "creating file"))?;
                let mut f = std::fs::File::from(fd);
                copy_with(&mut self.buf, e, &mut f).map_err(|err| UnpackError::Entry {
                    layer: self.layer.into(),
                    entry: raw_path.display().to_string(),
                    what: "writing file",
                    err,
                })?;
                self.set_fd_meta(&OwnedFd::from(f), &meta, &raw_path)?;
            }
            tar::EntryType::Directory => {
                if !reuse_dir {
                    rfs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o700))
                        .map_err(self.fail(&raw_path, "creating directory"))?;
                }
                let fd = rfs::openat(
                    &dir,
                    name.as_os_str(),
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(self.fail(&raw_path, "opening directory"))?;
                let ts = meta.mtime.clone();
                self.set_fd_meta(
                    &fd,
                    &Meta {
                        mtime: Timestamps {
                            last_access: now(),
                            last_modification: now(),
                        },
                        ..meta
                    },
                    &raw_path,
                )?;
                self.dir_times.push((comps.clone(), ts));
            }
            tar::EntryType::Symlink => {
                let target = self.link_target(e, &raw_path, "reading symlink target")?;
                // The target is stored verbatim: it is only ever followed inside the root.
                rfs::symlinkat(target.as_os_str(), &dir, name.as_os_str())
                    .map_err(self.fail(&raw_path, "creating symlink"))?;
                self.set_at_meta(&dir, name, &meta, &raw_path)?;
            }
            tar::EntryType::Link => {
                let target = self.link_target(e, &raw_path, "reading hardlink target")?;
                self.hardlink(&dir, name, &paths::clean(&target), &raw_path)?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let (ft, dev) = match kind {
                    tar::EntryType::Fifo => (FileType::Fifo, 0),
                    k => {
                        let maj = e.header().device_major().ok().flatten().unwrap_or(0);
                        let min = e.header().device_minor().ok().flatten().unwrap_or(0);
                        (
                            if k == tar::EntryType::Char {
                                FileType::CharacterDevice
                            } else {
                                FileType::BlockDevice
                            },
                            rfs::makedev(maj, min),
                        )
                    }
                };
                rfs::mknodat(
                    &dir,
                    name.as_os_str(),
                    ft,
                    Mode::from_raw_mode(meta.mode & 0o7777),
                    dev,
                )
                .map_err(self.fail(&raw_path, "creating device node"))?;
                self.set_at_meta(&dir, name, &meta, &raw_path)?;
            }
            _ => {
                // Unknown entry types carry nothing a rootfs needs.
                self.seen.remove(&comps);
            }
        }
        Ok(())
    }

    fn meta<R: Read>(&self, e: &mut tar::Entry<'_, R>, p: &Path) -> Result<Meta, UnpackError> {
        let h = e.header();
        let bad = |what: &'static str| {
            let entry = p.display().to_string();
            let layer = self.layer.to_string();
            move |err: io::Error| UnpackError::Entry {
                layer,
                entry,
                what,
                err,
            }
        };
        let mut uid = h.uid().map_err(bad("reading uid"))? as u32;
        let mut gid = h.gid().map_err(bad("reading gid"))? as u32;
        let mut mtime = Timespec {
            tv_sec: h.mtime().map_err(bad("reading mtime"))? as i64,
            tv_nsec: 0,
        };
        let mode = h.mode().map_err(bad("reading mode"))?;
        let mut xattrs = Vec::new();
        if let Some(pax) = e.pax_extensions().map_err(bad("reading pax header"))? {
            for ext in pax {
                let ext = ext.map_err(bad("reading pax header"))?;
                let Ok(key) = ext.key() else { continue };
                let val = ext.value_bytes();
                let num = || {
                    std::str::from_utf8(val)
                        .ok()
                        .and_then(|s| s.parse::<u32>().ok())
                };
                if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push((x.to_string(), val.to_vec()));
                } else if key == "uid" {
                    uid = num().unwrap_or(uid);
                } else if key == "gid" {
                    gid = num().unwrap_or(gid);
                } else if key == "mtime" {
                    if let Some((s, ns)) = std::str::from_utf8(val).ok().and_then(parse_pax_time) {
                        mtime = Timespec {
                            tv_sec: s,
                            tv_nsec: ns,
                        };
                    }
                }
            }
        }
        Ok(Meta {
            mode,
            uid,
            gid,
            mtime: Timestamps {
                last_access: mtime,
                last_modification: mtime,
            },
            xattrs,
        })
    }

    fn set_fd_meta(&self, fd: &OwnedFd, m: &Meta, p: &Path) -> Result<(), UnpackError> {
        if self.opts.chown {
            rfs::fchown(
                fd,
                Some(rfs::Uid::from_raw(m.uid)),
                Some(rfs::Gid::from_raw(m.gid)),
            )
            .map_err(self.fail(p, "setting owner"))?;
        }
        // After chown, which clears setuid/setgid.
        rfs::fchmod(fd, Mode::from_raw_mode(m.mode & 0o7777))
            .map_err(self.fail(p, "setting mode"))?;
        for (k, v) in &m.xattrs {
            match rfs::fsetxattr(fd, k.as_str(), v, rfs::XattrFlags::empty()) {
                // A filesystem without xattr support (or user.* on tmpfs) loses only the xattr.
                Ok(()) | Err(Errno::NOTSUP) => {}
                Err(e) => return Err(self.fail(p, "setting xattr")(e)),
            }
        }
        rfs::futimens(fd, &m.mtime).map_err(self.fail(p, "setting mtime"))
    }

    fn set_at_meta(
        &self,
        dir: &OwnedFd,
        name: &OsString,
        m: &Meta,
        p: &Path,
    ) -> Result<(), UnpackError> {
        if self.opts.chown {
            rfs::chownat(
                dir,
                name.as_os_str(),
                Some(rfs::Uid::from_raw(m.uid)),
                Some(rfs::Gid::from_raw(m.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(self.fail(p, "setting owner"))?;
        }
        rfs::utimensat(dir, name.as_os_str(), &m.mtime, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(self.fail(p, "setting mtime"))
    }

    fn hardlink(
        &self,
        dir: &OwnedFd,
        name: &OsString,
        target: &[OsString],
        p: &Path,
    ) -> Result<(), UnpackError> {
        let Some((tname, tparent)) = target.split_last() else {
            return Err(self.fail(p, "hardlink to the root directory")(Errno::INVAL));
        };
        let tdir = self.root.open_dir(tparent, false);
        let present = match &tdir {
            Ok(td) => safe::kind_at(td, tname)
                .map_err(self.fail(p, "inspecting hardlink target"))?
                .is_some(),
            Err(_) => false,
        };
        if present {
            if let Ok(td) = &tdir {
                // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never what it points to.
                return rfs::linkat(
                    td,
                    tname.as_os_str(),
                    dir,
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(self.fail(p, "creating hardlink"));
            }
        }
        if self.opts.mode == Target::Overlay {
            // The target lives in a lower layer: a copy is what overlayfs would show.
            for lower in &self.opts.lowers {
                let lr = safe::Root::open(lower).map_err(|err| UnpackError::Entry {
                    layer: self.layer.into(),
                    entry: p.display().to_string(),
                    what: "opening lower layer",
                    err,
                })?;
                let Ok(ld) = lr.open_dir(tparent, false) else {
                    continue;
                };
                if let Ok(src) = rfs::openat(
                    &ld,
                    tname.as_os_str(),
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    let st =
                        rfs::fstat(&src).map_err(self.fail(p, "inspecting hardlink target"))?;
                    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                        continue;
                    }
                    let dst = rfs::openat(
                        dir,
                        name.as_os_str(),
                        OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::WRONLY
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                    .map_err(self.fail(p, "copying hardlink target"))?;
                    let (mut s, mut d) = (std::fs::File::from(src), std::fs::File::from(dst));
                    io::copy(&mut s, &mut d).map_err(|err| UnpackError::Entry {
                        layer: self.layer.into(),
                        entry: p.display().to_string(),
                        what: "copying hardlink target",
                        err,
                    })?;
                    let meta = Meta {
                        mode: st.st_mode & 0o7777,
                        uid: st.st_uid,
                        gid: st.st_gid,
                        mtime: Timestamps {
                            last_access: now(),
                            last_modification: Timespec {
                                tv_sec: st.st_mtime as i64,
                                tv_nsec: 0,
                            },
                        },
                        xattrs: vec![],
                    };
                    return self.set_fd_meta(&OwnedFd::from(d), &meta, p);
                }
            }
        }
        Err(self.fail(p, "hardlink target does not exist in the rootfs")(Errno::NOENT))
    }

    fn whiteout(
        &mut self,
        parent: &[OsString],
        target: &std::ffi::OsStr,
        p: &Path,
    ) -> Result<(), UnpackError> {
        let mut full = parent.to_vec();
        full.push(target.to_os_string());
        if self.seen.contains(&full)
            || target.is_empty()
            || target == "."
            || target == ".."
            || paths::clean(Path::new(target)).len() != 1
        {
            return Ok(());
        }
        match self.opts.mode {
            Target::Flatten => {
                let Ok(dir) = self.root.open_dir(parent, false) else {
                    return Ok(());
                };
                safe::remove_at(&dir, target).map_err(self.fail(p, "applying whiteout"))
            }
            Target::Overlay => {
                let dir = self
                    .root
                    .open_dir(parent, true)
                    .map_err(self.fail(p, "opening parent directory"))?;
                safe::remove_at(&dir, target).map_err(self.fail(p, "applying whiteout"))?;
                rfs::mknodat(
                    &dir,
                    target,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rfs::makedev(0, 0),
                )
                .map_err(self.fail(p, "creating overlay whiteout"))
            }
        }
    }

    fn opaque(&mut self, parent: &[OsString], p: &Path) -> Result<(), UnpackError> {
        match self.opts.mode {
            Target::Flatten => {
                let Ok(dir) = self.root.open_dir(parent, false) else {
                    return Ok(());
                };
                let seen = &self.seen;
                safe::clear_dir(&dir, |n| {
                    let mut full = parent.to_vec();
                    full.push(n.to_os_string());
                    seen.contains(&full)
                })
                .map_err(self.fail(p, "applying opaque whiteout"))
            }
            Target::Overlay => {
                let dir = self
                    .root
                    .open_dir(parent, true)
                    .map_err(self.fail(p, "opening parent directory"))?;
                rfs::fsetxattr(
                    &dir,
                    "trusted.overlay.opaque",
                    b"y",
                    rfs::XattrFlags::empty(),
                )
                .map_err(self.fail(p, "marking directory opaque"))
            }
        }
    }
}

/// `io::copy` through a caller-owned buffer.
fn copy_with(buf: &mut [u8], r: &mut impl Read, w: &mut impl io::Write) -> io::Result<u64> {
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}

fn now() -> Timespec {
    Timespec {
        tv_sec: 0,
        tv_nsec: rfs::UTIME_NOW,
    }
}

/// `"1700000000.123"` → (secs, nanos).
fn parse_pax_time(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once('.').unwrap_or((s, ""));
    let secs = a.parse().ok()?;
    let mut ns = String::from(b);
    ns.truncate(9);
    while ns.len() < 9 {
        ns.push('0');
    }
    Some((secs, ns.parse().ok()?))
}

/// Removes a directory tree or file (used for cache and temp cleanup).
pub fn remove_tree(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_keep_their_fraction() {
        assert_eq!(parse_pax_time("12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time("12"), Some((12, 0)));
        assert_eq!(parse_pax_time("x"), None);
    }
}
