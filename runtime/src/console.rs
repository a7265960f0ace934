//! `process.terminal`: a pty made inside the container (on its own devpts),
//! whose master goes to the manager over `--console-socket` with SCM_RIGHTS,
//! as runc does.

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;

/// Makes the pty, sends its master to `socket`, and makes the slave this
/// process's controlling terminal and stdio. For a container's init the
/// slave is also bound on /dev/console.
pub fn setup(
    socket: &UnixStream,
    size: Option<(u64, u64)>,
    dev_console: bool,
) -> Result<(), String> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| format!("console: open /dev/ptmx: {e}"))?;
    grantpt(&master).map_err(|e| format!("console: grantpt: {e}"))?;
    unlockpt(&master).map_err(|e| format!("console: unlockpt: {e}"))?;
    let name = ptsname_r(&master).map_err(|e| format!("console: ptsname: {e}"))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("console: open {name}: {e}"))?;
    if dev_console {
        use std::os::fd::AsFd;
        crate::rootfs::console::mount_console(std::path::Path::new("/"), slave.as_fd())
            .map_err(|e| e.to_string())?;
    }
    if let Some((height, width)) = size {
        let ws = libc::winsize {
            ws_row: height.min(u16::MAX as u64) as u16,
            ws_col: width.min(u16::MAX as u64) as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer we pass.
        if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
            return Err(format!(
                "console: set size: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| format!("console: send the pty master to --console-socket: {e}"))?;
    drop(master);
    nix::unistd::setsid().map_err(|e| format!("console: setsid: {e}"))?;
    // SAFETY: TIOCSCTTY takes an integer argument; no memory is passed.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(format!(
            "console: make the pty the controlling terminal: {}",
            std::io::Error::last_os_error()
        ));
    }
    let raw = slave.into_raw_fd();
    for target in 0..3 {
        // SAFETY: dup2 onto the stdio numbers; raw is an fd we own.
        if unsafe { libc::dup2(raw, target) } < 0 {
            return Err(format!(
                "console: dup2: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    if raw > 2 {
        // SAFETY: raw is ours and no longer needed after the dup2s.
        unsafe { libc::close(raw) };
    }
    Ok(())
}
