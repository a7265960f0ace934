//! `linux.sysctl`, written through the verified private procfs only.

use super::RootfsError;
use crate::sys::procfs;
use std::collections::HashMap;

/// The path below /proc for a sysctl key: "net.ipv4.ip_forward" ->
/// "sys/net/ipv4/ip_forward". None when the key could leave /proc/sys.
pub fn key_path(key: &str) -> Option<String> {
    let path = key.replace('.', "/");
    let ok = !path.is_empty() && path.split('/').all(|c| !c.is_empty() && c != "..");
    ok.then(|| format!("sys/{path}"))
}

/// Writes every sysctl.
pub fn apply(sysctls: &HashMap<String, String>) -> Result<(), RootfsError> {
    for (key, value) in sysctls {
        let path = key_path(key)
            .ok_or_else(|| RootfsError(format!("linux.sysctl \"{key}\": not a sysctl name")))?;
        procfs::write_proc(&path, value.as_bytes())
            .map_err(|e| RootfsError(format!("linux.sysctl \"{key}\" = \"{value}\": {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_maps_dots_to_slashes_and_refuses_escapes() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").as_deref(),
            Some("sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("kernel/shmmax").as_deref(),
            Some("sys/kernel/shmmax")
        );
        assert_eq!(key_path(""), None);
        assert_eq!(key_path("net..x"), None);
        assert_eq!(key_path("../../etc"), None);
        assert_eq!(key_path("/net"), None);
    }
}
