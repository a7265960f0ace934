//! SCMP_ACT_NOTIFY: handing the listener fd to the seccomp agent at
//! `linux.seccomp.listenerPath`, as the "container process state".

use super::SeccompError;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

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
