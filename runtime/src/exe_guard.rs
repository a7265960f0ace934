//! Defence against CVE-2019-5736: a container process must never be able to
//! open the host's berth binary for writing through /proc/<pid>/exe while a
//! berth process sits in its namespaces.
//!
//! berth runs the verbs that enter a container (create, run, exec) from a
//! read-only view of its own binary: a detached, read-only bind mount of the
//! file (`open_tree(OPEN_TREE_CLONE)` + `mount_setattr(MOUNT_ATTR_RDONLY)`),
//! exec'd through its descriptor. /proc/<pid>/exe then names the binary on a
//! read-only mount, so opening it for writing fails with EROFS however the
//! container reaches it. This costs two syscalls and the re-exec; the older
//! defence, a sealed memfd copy of the whole binary (runc 1.0, youki), adds a
//! copy of several MB to every call and stays only as the fallback for
//! kernels without the new mount API.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const F_SEAL_ALL: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Re-executes berth from a read-only view of itself unless it already
/// runs from one. Returns only when the current process is protected.
pub fn ensure_protected() -> Result<(), String> {
    let exe =
        std::fs::File::open("/proc/self/exe").map_err(|e| format!("open /proc/self/exe: {e}"))?;
    if is_sealed(exe.as_raw_fd()) || on_readonly_mount(&exe) {
        return Ok(());
    }
    let target = match readonly_view(&exe) {
        Ok(fd) => fd,
        Err(_) => sealed_copy(&exe)?,
    };
    reexec(&target)
}

/// True when the binary sits on a read-only mount.
fn on_readonly_mount(exe: &std::fs::File) -> bool {
    nix::sys::statvfs::fstatvfs(exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// A detached, read-only bind mount of the binary.
fn readonly_view(exe: &std::fs::File) -> Result<OwnedFd, String> {
    use std::os::fd::AsFd;
    let tree = crate::sys::mountapi::clone_fd(exe.as_fd(), false)
        .map_err(|e| format!("open_tree: {e}"))?;
    crate::sys::mountapi::set_attr(
        tree.as_fd(),
        false,
        crate::sys::mountapi::AttrChange {
            set: libc::MOUNT_ATTR_RDONLY,
            clr: 0,
            propagation: 0,
        },
        None,
    )
    .map_err(|e| format!("mount_setattr: {e}"))?;
    Ok(tree)
}

/// Execs `target` with this process's arguments and environment.
fn reexec(target: &OwnedFd) -> Result<(), String> {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).unwrap_or_default())
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_encoded_bytes();
            kv.push(b'=');
            kv.extend(v.into_encoded_bytes());
            CString::new(kv).unwrap_or_default()
        })
        .collect();
    let e = nix::unistd::execveat(target, c"", &args, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH)
        .unwrap_err();
    Err(format!("re-exec from a read-only view of berth: {e}"))
}

/// True when `fd` is a memfd with all the write seals.
fn is_sealed(fd: libc::c_int) -> bool {
    // SAFETY: F_GET_SEALS reads no memory; non-memfds give EINVAL.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    seals >= 0 && seals & F_SEAL_ALL == F_SEAL_ALL
}

/// Copies the running binary into a sealed, executable memfd.
fn sealed_copy(exe: &std::fs::File) -> Result<OwnedFd, String> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let name = c"berth";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create reads the NUL-terminated name and returns an fd.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 {
        // Kernels before 6.3 do not know MFD_EXEC.
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by memfd_create and is owned by us.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = exe
        .metadata()
        .map_err(|e| format!("stat /proc/self/exe: {e}"))?
        .len();
    let mut copied: u64 = 0;
    while copied < len {
        // SAFETY: both fds are valid; null offsets use the file positions.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                (len - copied) as usize,
            )
        };
        if n < 0 {
            return Err(format!(
                "copy berth into a memfd: {}",
                std::io::Error::last_os_error()
            ));
        }
        if n == 0 {
            break;
        }
        copied += n as u64;
    }
    let mut f = std::fs::File::from(memfd.try_clone().map_err(|e| e.to_string())?);
    f.flush().map_err(|e| e.to_string())?;
    // SAFETY: F_ADD_SEALS with a flag set; no memory involved.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, F_SEAL_ALL) } < 0 {
        return Err(format!(
            "seal the memfd: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(memfd)
}
