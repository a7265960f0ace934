//! Freezing and thawing: v1 `freezer.state` (polled until FROZEN), or v2
//! `cgroup.freeze` (polled in `cgroup.events` until `frozen 1`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{fs, Cgroup, CgroupError, Mode};

/// How long freezing may take before it is given up (and undone).
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// The freezer the cgroup uses.
enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

fn freezer(cg: &Cgroup) -> Result<Freezer<'_>, CgroupError> {
    if let Some(dir) = cg.v1_dir("freezer") {
        return Ok(Freezer::V1(dir));
    }
    match (&cg.unified, cg.mode) {
        // cgroup.freeze is a core file: it works even on a hybrid host's cgroup2.
        (Some(u), Mode::Unified | Mode::Hybrid) => Ok(Freezer::V2(&u.path)),
        _ => Err(CgroupError(
            "the host has no freezer cgroup controller".into(),
        )),
    }
}

/// `frozen 1` in the text of cgroup.events.
pub fn events_say_frozen(events: &str) -> bool {
    events.lines().any(|l| l.trim() == "frozen 1")
}

/// Polls `done` with a growing pause until it holds or time runs out.
fn wait_until(mut done: impl FnMut() -> Result<bool, CgroupError>) -> Result<bool, CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() > FREEZE_TIMEOUT {
            return Ok(false);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

impl Cgroup {
    /// Freezes every process in the cgroup; returns once they are frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        let frozen = match freezer(self)? {
            Freezer::V1(dir) => {
                fs::write_named(dir, "freezer.state", "FROZEN")?;
                wait_until(|| {
                    let state = fs::read_named(dir, "freezer.state")?;
                    if state.trim() == "FROZEN" {
                        return Ok(true);
                    }
                    // A task that was forking can leave it FREEZING; asking again moves it on.
                    fs::write_named(dir, "freezer.state", "FROZEN")?;
                    Ok(false)
                })?
            }
            Freezer::V2(dir) => {
                fs::write_named(dir, "cgroup.freeze", "1")?;
                wait_until(|| Ok(events_say_frozen(&fs::read_named(dir, "cgroup.events")?)))?
            }
        };
        if !frozen {
            let _ = self.thaw();
            return Err(CgroupError(format!(
                "freezing the cgroup did not finish within {FREEZE_TIMEOUT:?}"
            )));
        }
        Ok(())
    }

    /// Lets the processes run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match freezer(self)? {
            Freezer::V1(dir) => fs::write_named(dir, "freezer.state", "THAWED"),
            Freezer::V2(dir) => fs::write_named(dir, "cgroup.freeze", "0"),
        }
    }

    /// Whether the cgroup is (being) frozen, i.e. the container is paused.
    /// A cgroup that no longer exists is not frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        let (dir, file, frozen): (&Path, &str, &[&str]) = match freezer(self)? {
            Freezer::V1(dir) => (dir, "freezer.state", &["FROZEN", "FREEZING"]),
            Freezer::V2(dir) => (dir, "cgroup.freeze", &["1"]),
        };
        match fs::read(dir, file) {
            Ok(state) => Ok(frozen.contains(&state.trim())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(CgroupError(format!(
                "reading {}: {e}",
                dir.join(file).display()
            ))),
        }
    }

    /// Sends `signal` to every process in the cgroup. SIGKILL uses
    /// `cgroup.kill` where the kernel has it; otherwise the cgroup is frozen
    /// first, so nothing forks past the signal. A paused cgroup stays paused,
    /// except after SIGKILL: frozen processes cannot die, so it is thawed.
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        let was_frozen = self.is_frozen().unwrap_or(false);
        if signal == libc::SIGKILL {
            if let Some(u) = &self.unified {
                match fs::write(&u.path, "cgroup.kill", "1") {
                    Ok(()) => return if was_frozen { self.thaw() } else { Ok(()) },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(CgroupError(format!(
                            "writing \"1\" to {}: {e}",
                            u.path.join("cgroup.kill").display()
                        )))
                    }
                }
            }
        }
        let frozen = was_frozen || (freezer(self).is_ok() && self.freeze().is_ok());
        let result = self.signal_each(signal);
        if frozen && (!was_frozen || signal == libc::SIGKILL) {
            self.thaw()?;
        }
        result
    }

    fn signal_each(&self, signal: i32) -> Result<(), CgroupError> {
        for pid in self.pids()? {
            // SAFETY: kill(2) has no memory effects; the pid came from the cgroup.
            if unsafe { libc::kill(pid, signal) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::ESRCH) {
                    return Err(CgroupError(format!(
                        "sending signal {signal} to pid {pid}: {e}"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cgroup_events_frozen_line_is_read() {
        assert!(super::events_say_frozen("populated 1\nfrozen 1\n"));
        assert!(!super::events_say_frozen("populated 1\nfrozen 0\n"));
    }
}
