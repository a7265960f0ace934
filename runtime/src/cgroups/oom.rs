//! Out-of-memory kills: the count so far, and a watch to wait for the next
//! one (v1: an eventfd registered on `memory.oom_control`; v2: inotify on
//! `memory.events`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::stats::parse_flat;
use super::{fs, Cgroup, CgroupError, Mode};

/// `oom_kill N` from memory.oom_control (v1) or memory.events (v2).
pub fn parse_oom_kills(text: &str) -> u64 {
    parse_flat(text).get("oom_kill").copied().unwrap_or(0)
}

/// A way to wait for the cgroup's next OOM kill; its fd becomes readable
/// when one may have happened (poll it in an event loop, then call
/// [`OomWatch::check`]).
#[derive(Debug)]
pub struct OomWatch {
    fd: OwnedFd,
    dir: PathBuf,
    file: &'static str,
    seen: u64,
    // v1 keeps the oom_control file open for the registration's lifetime.
    _control: Option<std::fs::File>,
}

impl AsFd for OomWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn memory_dir(cg: &Cgroup) -> Result<(&Path, &'static str), CgroupError> {
    if let Some(d) = cg.v1_dir("memory") {
        return Ok((d, "memory.oom_control"));
    }
    match (&cg.unified, cg.mode) {
        (Some(u), Mode::Unified) => Ok((&u.path, "memory.events")),
        _ => Err(CgroupError(
            "the host has no memory cgroup controller".into(),
        )),
    }
}

impl Cgroup {
    /// How many processes of the cgroup the OOM killer has killed.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let (dir, file) = memory_dir(self)?;
        Ok(parse_oom_kills(&fs::read_named(dir, file)?))
    }

    /// Starts watching for OOM kills.
    pub fn oom_watch(&self) -> Result<OomWatch, CgroupError> {
        let (dir, file) = memory_dir(self)?;
        let err = |what: &str, e: io::Error| {
            CgroupError(format!("{what} {}: {e}", dir.join(file).display()))
        };
        let seen = parse_oom_kills(&fs::read_named(dir, file)?);
        if file == "memory.oom_control" {
            // SAFETY: eventfd(2) with valid flags; the result is checked.
            let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            if efd < 0 {
                return Err(err("eventfd for", io::Error::last_os_error()));
            }
            // SAFETY: `efd` is a new descriptor we own.
            let efd = unsafe { OwnedFd::from_raw_fd(efd) };
            let control = std::fs::File::open(dir.join(file)).map_err(|e| err("opening", e))?;
            let line = format!("{} {}", efd.as_raw_fd(), control.as_raw_fd());
            fs::write(dir, "cgroup.event_control", &line)
                .map_err(|e| err("registering an eventfd for", e))?;
            return Ok(OomWatch {
                fd: efd,
                dir: dir.to_path_buf(),
                file,
                seen,
                _control: Some(control),
            });
        }
        // SAFETY: inotify_init1 with valid flags; the result is checked.
        let ifd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if ifd < 0 {
            return Err(err("inotify for", io::Error::last_os_error()));
        }
        // SAFETY: `ifd` is a new descriptor we own.
        let ifd = unsafe { OwnedFd::from_raw_fd(ifd) };
        let path = CString::new(dir.join(file).as_os_str().as_encoded_bytes())
            .map_err(|_| CgroupError("cgroup path holds a NUL byte".into()))?;
        // SAFETY: valid inotify fd and NUL-terminated path.
        if unsafe { libc::inotify_add_watch(ifd.as_raw_fd(), path.as_ptr(), libc::IN_MODIFY) } < 0 {
            return Err(err("watching", io::Error::last_os_error()));
        }
        Ok(OomWatch {
            fd: ifd,
            dir: dir.to_path_buf(),
            file,
            seen,
            _control: None,
        })
    }
}

impl OomWatch {
    /// Drains the notification and returns how many OOM kills happened
    /// since the last check (0 if the wake-up was for something else).
    /// Call it once the fd is readable: with nothing pending it blocks
    /// until the next notification.
    pub fn check(&mut self) -> Result<u64, CgroupError> {
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a local buffer of the given length.
        unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        let now = parse_oom_kills(&fs::read_named(&self.dir, self.file)?);
        let new = now.saturating_sub(self.seen);
        self.seen = now;
        Ok(new)
    }

    /// Blocks until at least one new OOM kill and returns how many.
    pub fn wait(&mut self) -> Result<u64, CgroupError> {
        loop {
            let n = self.check()?;
            if n > 0 {
                return Ok(n);
            }
            if !self.dir.exists() {
                return Err(CgroupError(format!(
                    "cgroup {} was removed",
                    self.dir.display()
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn oom_kill_counter_is_read_from_either_file() {
        assert_eq!(
            super::parse_oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            3
        );
        assert_eq!(
            super::parse_oom_kills("low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n"),
            2
        );
        assert_eq!(super::parse_oom_kills(""), 0);
    }
}
