//! `berth run` on a config with `"terminal": true` and no console socket:
//! berth receives the pty master itself and relays it to its own stdio,
//! as `runc run` does.

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A private console socket for one `run`.
pub struct ConsoleSocket {
    dir: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Binds a socket in a fresh directory under `root`.
    pub fn bind(root: &Path, id: &str) -> std::io::Result<ConsoleSocket> {
        let dir = root.join(format!(".console-{id}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        match UnixListener::bind(dir.join("sock")) {
            Ok(listener) => Ok(ConsoleSocket { dir, listener }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Path to pass as `--console-socket`.
    pub fn path(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// Takes the pty master init sent (the connection is already queued).
    pub fn receive_master(&self) -> std::io::Result<OwnedFd> {
        let (stream, _) = self.listener.accept()?;
        recv_fd(&stream)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn recv_fd(stream: &UnixStream) -> std::io::Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(std::io::Error::other(
        "no pty master received on the console socket",
    ))
}

/// Puts the terminal on stdin in raw mode while alive; restores it on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode if stdin is a terminal; a no-op otherwise.
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copies the size of the terminal on stdin to the pty.
pub fn copy_window_size(master: BorrowedFd) {
    let mut ws = std::mem::MaybeUninit::<libc::winsize>::zeroed();
    // SAFETY: TIOCGWINSZ writes one winsize into ws.
    if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, ws.as_mut_ptr()) } == 0 {
        // SAFETY: TIOCSWINSZ reads the winsize the previous call filled in.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, ws.as_ptr()) };
    }
}
