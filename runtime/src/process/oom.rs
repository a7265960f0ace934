//! `process.oomScoreAdj`: written to /proc/self/oom_score_adj.

use super::{describe, procfs, ProcessError};

/// The range the kernel accepts.
pub(super) const RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;

/// Checks that `adj` is within the kernel's range.
pub(super) fn check(adj: i32) -> Result<(), ProcessError> {
    if RANGE.contains(&adj) {
        Ok(())
    } else {
        Err(ProcessError(format!(
            "process.oomScoreAdj {adj} is out of range -1000..=1000"
        )))
    }
}

/// Sets the calling process's OOM score adjustment.
pub(super) fn apply(adj: i32) -> Result<(), ProcessError> {
    procfs::write("/proc/self/oom_score_adj", adj.to_string().as_bytes()).map_err(|e| {
        let hint = if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
            " (lowering it needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        ProcessError(format!(
            "process.oomScoreAdj {adj}: write /proc/self/oom_score_adj: {}{hint}",
            describe(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_score_adj_outside_the_kernel_range_is_refused() {
        assert!(check(1000).is_ok());
        assert!(check(-1000).is_ok());
        assert_eq!(
            check(1001).unwrap_err().to_string(),
            "process.oomScoreAdj 1001 is out of range -1000..=1000"
        );
    }
}
