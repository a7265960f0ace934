//! The typed messages berth and its child processes exchange over a
//! SOCK_SEQPACKET socketpair, so every failure inside the child arrives in
//! the parent as one clear error.

use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};

/// A message between berth and its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Stage 1 made its user namespace (if any): the parent may now place it
    /// in the cgroup and write its id maps.
    Stage1Ready,
    /// Parent to child: go on.
    Go,
    /// Stage 1 forked init; its pid in the parent's pid namespace.
    InitPid(i32),
    /// Init has built its mounts: run prestart and createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// Parent to init: the hooks ran; here is the container state (JSON)
    /// for the hooks init runs itself.
    HooksDone(String),
    /// Init is set up and waits for `start`.
    Ready,
    /// Something failed; the message names it.
    Error(String),
}

/// One end of the socketpair.
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair of channels (close-on-exec).
    pub fn pair() -> std::io::Result<(Channel, Channel)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    /// The raw descriptor (to keep it open across the fd cleanup).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// A second handle on the same end, for init (forked from stage 1).
    pub fn try_clone_for_init(&self) -> Channel {
        // fork already duplicated the descriptor table: init owns this fd
        // number too, and stage 1's copy goes away when stage 1 exits.
        Channel {
            fd: self.fd.try_clone().unwrap_or_else(|_| {
                // SAFETY: _exit in a forked child if the dup fails.
                unsafe { libc::_exit(1) }
            }),
        }
    }

    /// Sends one message.
    pub fn send(&self, msg: &Msg) -> std::io::Result<()> {
        let data = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
        loop {
            match nix::unistd::write(&self.fd, &data) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; `None` when the other end closed.
    pub fn recv(&self) -> std::io::Result<Option<Msg>> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(n) => break n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_the_pair() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&Msg::InitPid(42)).unwrap();
        a.send(&Msg::Error("boom: x".into())).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::InitPid(42)));
        assert_eq!(b.recv().unwrap(), Some(Msg::Error("boom: x".into())));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }
}
