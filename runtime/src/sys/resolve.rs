//! Path resolution inside an untrusted root.
//!
//! Every lookup goes through `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! relative to a descriptor of the root, so `..` and absolute symlinks stop at
//! the root and `/proc/*/root`-style magic links are refused. Creation only
//! ever names one component relative to an already resolved directory
//! descriptor, so it can never follow a symlink out of the root.

use rustix::fs::{self, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The resolve flags for a lookup inside a container root.
const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Lexically cleans `path` into a path relative to the root: leading `/`,
/// `.` and `..` that would climb above the root are dropped, so "/a/../../b"
/// becomes "b" and "etc/x" stays "etc/x". Symlinks are left to `openat2`.
pub fn clean_in_root(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Opens `rel` inside `root` (symlinks resolved as if `root` were `/`).
pub fn open_in_root(root: BorrowedFd<'_>, rel: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
    let rel: &Path = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    // The kernel answers EAGAIN when a concurrent rename could have let ".."
    // escape; retrying is the documented way out.
    let mut tries = 0;
    loop {
        match fs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), IN_ROOT) {
            Err(Errno::AGAIN) if tries < 16 => tries += 1,
            other => return other,
        }
    }
}

/// True when some existing component of `rel` inside `root` is a symlink.
pub fn has_symlink(root: BorrowedFd<'_>, rel: &Path) -> bool {
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    let how = IN_ROOT | fs::ResolveFlags::NO_SYMLINKS;
    matches!(
        fs::openat2(root, rel, flags, Mode::empty(), how),
        Err(Errno::LOOP)
    )
}

/// Opens one component `name` of the directory `dir` without following any
/// symlink and without leaving `dir`.
pub fn open_beneath(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlags) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    fs::openat2(dir, name, flags | OFlags::CLOEXEC, Mode::empty(), resolve)
}

/// How many dangling symlinks one creation may follow (the kernel's limit).
const MAX_LINKS: u32 = 40;

/// Returns an `O_PATH` descriptor of the directory `rel` inside `root`,
/// creating missing directories (mode 0755) one component at a time. A
/// dangling symlink on the way is followed by creating its target, itself
/// resolved inside the root.
pub fn ensure_dir(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    ensure(root, rel, Kind::Dir, MAX_LINKS)
}

/// Returns an `O_PATH` descriptor of `rel` inside `root`; when it does not
/// exist, creates an empty regular file there (parents as directories).
/// An existing entry of any type is returned as is.
pub fn ensure_file(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    ensure(root, rel, Kind::File, MAX_LINKS)
}

#[derive(Clone, Copy)]
enum Kind {
    Dir,
    File,
}

fn ensure(root: BorrowedFd<'_>, rel: &Path, kind: Kind, links: u32) -> Result<OwnedFd, Errno> {
    let want = match kind {
        Kind::Dir => OFlags::PATH | OFlags::DIRECTORY,
        Kind::File => OFlags::PATH,
    };
    match open_in_root(root, rel, want) {
        Err(Errno::NOENT) => {}
        other => return other,
    }
    let (parent, name) = split_last(rel)?;
    let parent_fd = ensure(root, parent, Kind::Dir, links)?;
    match kind {
        Kind::Dir => match fs::mkdirat(&parent_fd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        },
        Kind::File => create_empty_file(parent_fd.as_fd(), name)?,
    }
    match open_in_root(root, rel, want) {
        Err(Errno::NOENT) => {}
        other => return other,
    }
    // Still missing although the name exists: a dangling symlink. Create
    // what it names, the target path cleaned to stay inside the root.
    if links == 0 {
        return Err(Errno::LOOP);
    }
    let target = fs::readlinkat(&parent_fd, name, Vec::new())?;
    let target = Path::new(OsStr::from_bytes(target.as_bytes()));
    let redirected = if target.is_absolute() {
        clean_in_root(target)
    } else {
        clean_in_root(&parent.join(target))
    };
    ensure(root, &redirected, kind, links - 1)?;
    open_in_root(root, rel, want)
}

/// Creates the empty regular file `name` in `dir`; an existing entry is kept.
/// `O_EXCL` means a symlink at `name` is never followed.
pub fn create_empty_file(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC;
    match fs::openat(dir, name, flags, Mode::from_raw_mode(0o644)) {
        Ok(_) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the non-directory entry `name` from `dir`, if any (never follows
/// a symlink: the link itself is removed).
pub fn remove_entry(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    match fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Splits a cleaned, non-empty relative path into its parent and last name.
fn split_last(rel: &Path) -> Result<(&Path, &OsStr), Errno> {
    match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        // The root itself always exists; reaching here means it was removed.
        _ => Err(Errno::NOENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_in_root_keeps_paths_beneath_the_root() {
        let cases = [
            ("/", ""),
            ("/dev/pts", "dev/pts"),
            ("dev/./pts/", "dev/pts"),
            ("/../../etc", "etc"),
            ("/a/b/../../../c", "c"),
            ("a/../..//b/./c/..", "b"),
        ];
        for (input, want) in cases {
            assert_eq!(
                clean_in_root(Path::new(input)),
                PathBuf::from(want),
                "{input}"
            );
        }
    }

    #[test]
    fn open_in_root_stops_absolute_and_dotdot_symlinks_at_the_root() {
        let dir = tempdir();
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("inner")).unwrap();
        std::fs::write(root.join("inner/marker"), "in").unwrap();
        std::os::unix::fs::symlink("/", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", root.join("inner/up")).unwrap();
        let root_fd = fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        for link in ["abs/inner/marker", "inner/up/inner/marker"] {
            let fd = open_in_root(root_fd.as_fd(), Path::new(link), OFlags::RDONLY).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text).unwrap();
            assert_eq!(text, "in", "{link} left the root");
        }
    }

    #[test]
    fn ensure_dir_creates_through_symlinks_only_inside_the_root() {
        let dir = tempdir();
        let root = dir.join("root");
        let outside = dir.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // "evil" names the outside dir by its host path; in-root it is root/<host path>.
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        let root_fd = fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        ensure_dir(root_fd.as_fd(), Path::new("evil/made")).unwrap();
        ensure_file(root_fd.as_fd(), Path::new("evil/file")).unwrap();
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "host dir was written"
        );
        let inside = root.join(outside.strip_prefix("/").unwrap());
        assert!(inside.join("made").is_dir());
        assert!(inside.join("file").is_file());
    }

    /// A temp dir removed on drop, even when the test fails.
    struct TempDir(PathBuf);
    impl std::ops::Deref for TempDir {
        type Target = PathBuf;
        fn deref(&self) -> &PathBuf {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tempdir() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-resolve-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}
