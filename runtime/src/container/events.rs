//! `berth events`: resource usage as runc prints it (`--stats`: once;
//! otherwise a stream every `--interval`), and OOM kills as they happen.

use super::{Error, StateFile, Status};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

/// Prints events for container `id` to stdout.
pub fn events(root: &Path, id: &str, stats_once: bool, interval: Duration) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let cg = super::pause::cgroup(&sf)?.clone();
    let stats = |cg: &crate::cgroups::Cgroup| -> Result<String, Error> {
        let data = cg.stats().map_err(|e| Error::Other(e.to_string()))?;
        Ok(serde_json::json!({"type": "stats", "id": id, "data": data}).to_string())
    };
    let mut out = std::io::stdout();
    if stats_once {
        writeln!(out, "{}", stats(&cg)?).map_err(|e| Error::io("stdout", e))?;
        return Ok(());
    }
    let mut oom = cg.oom_watch().ok();
    loop {
        if StateFile::load(root, id)
            .map(|s| s.status())
            .unwrap_or(Status::Stopped)
            == Status::Stopped
        {
            return Ok(());
        }
        writeln!(out, "{}", stats(&cg)?).map_err(|e| Error::io("stdout", e))?;
        let _ = out.flush();
        // Sleep for the interval, but wake for an OOM kill.
        let mut pfd = libc::pollfd {
            fd: oom.as_ref().map_or(-1, |w| w.as_fd().as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = interval.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd (a negative fd is ignored by poll).
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            if let Some(w) = oom.as_mut() {
                if w.check().unwrap_or(0) > 0 {
                    writeln!(out, "{}", serde_json::json!({"type": "oom", "id": id}))
                        .map_err(|e| Error::io("stdout", e))?;
                }
            }
        }
    }
}

/// Parses `--interval` values like `5s`, `500ms`, `1m`.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || format!("--interval \"{s}\" is not a duration (like 5s or 500ms)");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }
}
