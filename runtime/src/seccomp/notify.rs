//! SCMP_ACT_NOTIFY: handing the listener fd to the seccomp agent at
//! `linux.seccomp.listenerPath`, as the "container process state".

use super::SeccompError;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// Sends `listener` over `sock` with SCM_RIGHTS and one payload byte, from
/// stack buffers only: for init, which runs between fork and exec, to hand
/// the fd returned by [`super::Filter::install`] to the runtime. Returns the
/// errno on failure. (The filter is already active: compile refuses NOTIFY
/// on `sendmsg`, so this call cannot wait on an agent.)
pub fn send_listener_fd(sock: BorrowedFd, listener: BorrowedFd) -> Result<(), i32> {
    #[repr(C, align(8))]
    struct CmsgBuf([u8; 32]);
    let mut cbuf = CmsgBuf([0; 32]);
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: msghdr and its control message point into live stack buffers;
    // CMSG_SPACE(4) = 24 fits in 32 bytes; sendmsg only reads them.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), listener.as_raw_fd());
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    match sent {
        1 => Ok(()),
        -1 => Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)),
        _ => Err(libc::EIO),
    }
}

/// The runtime-spec version of the container process state.
const OCI_VERSION: &str = "1.3.0";

/// Builds the container process state (`ociVersion`, `fds: ["seccompFd"]`,
/// `pid`, `metadata` = `listenerMetadata`, `state` = the container state
/// as written to state.json) that [`send_to_listener`] sends.
pub fn process_state_json(
    pid: i32,
    metadata: Option<&str>,
    container_state_json: &[u8],
) -> Result<Vec<u8>, SeccompError> {
    let state: serde_json::Value = serde_json::from_slice(container_state_json)
        .map_err(|e| SeccompError(format!("seccomp: container state is not JSON: {e}")))?;
    let mut msg = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    if let Some(m) = metadata {
        msg["metadata"] = m.into();
    }
    serde_json::to_vec(&msg).map_err(|e| SeccompError(format!("seccomp: {e}")))
}

/// Sends `process_state_json` (see [`process_state_json`]) over the agent's
/// connection with `notify_fd` attached as SCM_RIGHTS on the first message.
/// The caller closes the connection afterwards (one state per connection).
pub fn send_to_listener(
    sock: &UnixStream,
    notify_fd: BorrowedFd,
    process_state_json: &[u8],
) -> Result<(), SeccompError> {
    let fail = |e: &dyn std::fmt::Display| {
        SeccompError(format!(
            "seccomp: sending the listener fd to the agent: {e}"
        ))
    };
    let fds = [notify_fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(process_state_json)];
    let sent = sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .map_err(|e| fail(&e))?;
    // The spec allows several messages; fds go only in the first.
    let mut rest = sock;
    rest.write_all(&process_state_json[sent..])
        .map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn process_state_without_metadata_omits_it() {
        let msg = process_state_json(5, None, br#"{"id":"c","status":"creating"}"#).expect("state");
        let v: serde_json::Value = serde_json::from_slice(&msg).expect("JSON");
        assert_eq!(v["pid"], 5);
        assert_eq!(v["state"]["status"], "creating");
        assert!(v.get("metadata").is_none(), "{v}");
        let e = process_state_json(5, None, b"not json").expect_err("bad state");
        assert!(e.0.contains("container state is not JSON"), "{}", e.0);
    }

    #[test]
    fn sending_to_a_closed_agent_is_an_error() {
        let (runtime_end, agent_end) = UnixStream::pair().expect("socketpair");
        drop(agent_end);
        let e = send_to_listener(&runtime_end, runtime_end.as_fd(), b"{}").expect_err("peer gone");
        assert!(
            e.0.starts_with("seccomp: sending the listener fd to the agent"),
            "{}",
            e.0
        );
    }
}
