//! Removing a cgroup directory tree, waiting briefly for exiting processes.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{fs, CgroupError};

/// How long `rmdir` may keep failing with EBUSY while the cgroup's
/// processes are exiting.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// Removes `dir` and any child cgroups in it, deepest first.
pub fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(CgroupError(format!(
                "reading cgroup {}: {e}",
                dir.display()
            )))
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    remove_one(dir)
}

fn remove_one(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(500);
    loop {
        let err = match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => e,
        };
        if err.raw_os_error() != Some(libc::EBUSY) {
            return Err(CgroupError(format!(
                "removing cgroup {}: {err}",
                dir.display()
            )));
        }
        // Busy: fine only while what is left is exiting.
        let pids = fs::read(dir, "cgroup.procs")
            .map(|t| fs::parse_pids(&t))
            .unwrap_or_default();
        let alive: Vec<i32> = pids.iter().copied().filter(|p| !is_exiting(*p)).collect();
        if !alive.is_empty() {
            return Err(CgroupError(format!(
                "removing cgroup {}: it still has running processes {alive:?}",
                dir.display()
            )));
        }
        if start.elapsed() > EXIT_GRACE {
            return Err(CgroupError(format!(
                "removing cgroup {}: still busy after {EXIT_GRACE:?} (processes {pids:?} exiting)",
                dir.display()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A zombie, a dying process, one with SIGKILL pending, or one already gone.
fn is_exiting(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
    match (stat, status) {
        (Ok(stat), Ok(status)) => stat_says_exiting(&stat) || status_says_exiting(&status),
        _ => true,
    }
}

/// Zombie/dead state, or PF_EXITING in the flags (field 9) of `/proc/<pid>/stat`.
fn stat_says_exiting(stat: &str) -> bool {
    const PF_EXITING: u64 = 0x4;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first().copied().unwrap_or("");
    let flags = fields
        .get(6)
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or(0);
    matches!(state, "Z" | "X" | "x") || flags & PF_EXITING != 0
}

/// Reads `State:` and the pending-signal masks of `/proc/<pid>/status`.
fn status_says_exiting(status: &str) -> bool {
    const SIGKILL_BIT: u64 = 1 << (libc::SIGKILL - 1);
    status.lines().any(|line| {
        let Some((key, value)) = line.split_once(':') else {
            return false;
        };
        let value = value.trim();
        match key {
            "State" => value.starts_with('Z') || value.starts_with('X'),
            "SigPnd" | "ShdPnd" => {
                u64::from_str_radix(value, 16).is_ok_and(|mask| mask & SIGKILL_BIT != 0)
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exiting_flag_and_zombie_state_are_read_from_stat() {
        assert!(stat_says_exiting("12 (a b) Z 1 12 12 0 -1 4194308 0"));
        assert!(stat_says_exiting("12 (sleep) R 1 12 12 0 -1 4194308 0"));
        assert!(!stat_says_exiting("12 (sleep) S 1 12 12 0 -1 4194304 0"));
    }

    #[test]
    fn zombies_and_pending_sigkill_count_as_exiting() {
        assert!(status_says_exiting(
            "Name:\tsh\nState:\tZ (zombie)\nShdPnd:\t0000000000000000\n"
        ));
        assert!(status_says_exiting(
            "State:\tS (sleeping)\nShdPnd:\t0000000000000100\n"
        ));
        assert!(!status_says_exiting(
            "State:\tS (sleeping)\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000004000\n"
        ));
    }
}
