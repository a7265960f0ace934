//! `linux.netDevices` (runtime-spec 1.3): host network interfaces moved into
//! the container's network namespace (and renamed), with one rtnetlink
//! RTM_NEWLINK request each. Done by berth once init's namespace exists.

use oci_spec::runtime::LinuxNetDevice;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLMSG_ERROR: u16 = 0x2;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_PID: u16 = 19;

/// Checks names before anything is created.
pub fn check(devices: &HashMap<String, LinuxNetDevice>) -> Result<(), String> {
    for (host, d) in devices {
        let new = d.name().as_deref().unwrap_or(host);
        for n in [host.as_str(), new] {
            if n.is_empty() || n.len() > 15 || n.contains(['/', ' ', ':']) || n == "." || n == ".."
            {
                return Err(format!(
                    "config.json: linux.netDevices \"{host}\": \"{n}\" is not a valid interface name"
                ));
            }
        }
        if !std::path::Path::new("/sys/class/net").join(host).exists() {
            return Err(format!(
                "config.json: linux.netDevices \"{host}\": no such network interface on the host"
            ));
        }
    }
    Ok(())
}

/// Moves every device into the network namespace of `pid`.
pub fn move_all(devices: &HashMap<String, LinuxNetDevice>, pid: i32) -> Result<(), String> {
    if devices.is_empty() {
        return Ok(());
    }
    let sock = socket().map_err(|e| format!("linux.netDevices: netlink socket: {e}"))?;
    for (seq, (host, d)) in devices.iter().enumerate() {
        let new = d.name().as_deref().unwrap_or(host);
        move_one(&sock, seq as u32 + 1, host, new, pid).map_err(|e| {
            format!("linux.netDevices \"{host}\": move into the container as \"{new}\": {e}")
        })?;
    }
    Ok(())
}

fn socket() -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The request: nlmsghdr + ifinfomsg + IFLA_NET_NS_PID + IFLA_IFNAME.
pub fn request(seq: u32, index: i32, new_name: &str, pid: i32) -> Vec<u8> {
    let mut body = Vec::new();
    // struct ifinfomsg: family(u8) pad(u8) type(u16) index(i32) flags(u32) change(u32)
    body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    body.extend_from_slice(&index.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    attr(&mut body, IFLA_NET_NS_PID, &(pid as u32).to_ne_bytes());
    let mut name = new_name.as_bytes().to_vec();
    name.push(0);
    attr(&mut body, IFLA_IFNAME, &name);
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    msg
}

fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

fn move_one(sock: &OwnedFd, seq: u32, host: &str, new: &str, pid: i32) -> Result<(), String> {
    let cname = CString::new(host).map_err(|_| "name holds a NUL byte".to_string())?;
    // SAFETY: if_nametoindex reads the NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err("no such network interface on the host".into());
    }
    let msg = request(seq, index as i32, new, pid);
    // SAFETY: sending our buffer on our netlink socket (kernel as peer).
    let n = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let mut buf = [0u8; 4096];
    // SAFETY: receiving into a local buffer of the given size.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    ack_error(&buf[..n as usize]).map_or(Ok(()), |errno| {
        Err(std::io::Error::from_raw_os_error(errno).to_string())
    })
}

/// The errno of a NLMSG_ERROR reply (None: success).
pub fn ack_error(reply: &[u8]) -> Option<i32> {
    if reply.len() < 20 {
        return Some(libc::EIO);
    }
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    if kind != NLMSG_ERROR {
        return None;
    }
    let err = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
    (err != 0).then_some(-err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let m = request(7, 3, "eth1", 42);
        assert!(m.len().is_multiple_of(4));
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_NEWLINK);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 3);
        // First attribute: IFLA_NET_NS_PID = 42.
        assert_eq!(u16::from_ne_bytes([m[34], m[35]]), IFLA_NET_NS_PID);
        assert_eq!(u32::from_ne_bytes(m[36..40].try_into().unwrap()), 42);
        assert_eq!(&m[44..48], b"eth1");
    }

    #[test]
    fn acks() {
        let mut ok = vec![0u8; 36];
        ok[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(ack_error(&ok), None);
        ok[16..20].copy_from_slice(&(-libc::ENODEV).to_ne_bytes());
        assert_eq!(ack_error(&ok), Some(libc::ENODEV));
    }
}
