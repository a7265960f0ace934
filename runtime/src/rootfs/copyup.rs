//! `tmpcopyup`: copy what a directory holds into the tmpfs about to cover it,
//! all through descriptors (no path is resolved twice, no symlink followed).

use rustix::fs::{self, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Copies the contents, modes and owners of directory `src` (any fd,
/// `O_PATH` is fine) into directory `dst`.
pub fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<(), Errno> {
    let st = fs::fstat(src)?;
    let dir = fs::openat(
        src,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let dst_dir = fs::openat(
        dst,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    fs::fchmod(&dst_dir, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    fs::fchown(
        &dst_dir,
        Some(fs::Uid::from_raw(st.st_uid)),
        Some(fs::Gid::from_raw(st.st_gid)),
    )?;
    copy_entries(dir, dst_dir.as_fd(), 0)
}

fn copy_entries(src: OwnedFd, dst: BorrowedFd<'_>, depth: u32) -> Result<(), Errno> {
    if depth > 64 {
        return Err(Errno::LOOP);
    }
    let entries = Dir::read_from(&src)?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        copy_one(src.as_fd(), dst, name, depth)?;
    }
    Ok(())
}

fn copy_one(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &CStr,
    depth: u32,
) -> Result<(), Errno> {
    let st = fs::statat(src, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            fs::mkdirat(dst, name, mode)?;
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let sub_src = fs::openat(src, name, flags, Mode::empty())?;
            let sub_dst = fs::openat(dst, name, flags, Mode::empty())?;
            copy_entries(sub_src, sub_dst.as_fd(), depth + 1)?;
        }
        FileType::RegularFile => {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let from = fs::openat(src, name, flags, Mode::empty())?;
            let wflags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let to = fs::openat(dst, name, wflags, mode)?;
            std::io::copy(&mut std::fs::File::from(from), &mut std::fs::File::from(to))
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
        }
        FileType::Symlink => {
            let target = fs::readlinkat(src, name, Vec::new())?;
            fs::symlinkat(target.as_c_str(), dst, name)?;
        }
        other => {
            fs::mknodat(dst, name, other, mode, st.st_rdev)?;
        }
    }
    let (uid, gid) = (fs::Uid::from_raw(st.st_uid), fs::Gid::from_raw(st.st_gid));
    fs::chownat(dst, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
        // chown clears set-id bits: put the mode back.
        fs::chmodat(dst, name, mode, AtFlags::empty())?;
    }
    Ok(())
}
