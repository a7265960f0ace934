//! The runtime-spec container statuses.

use std::fmt;

/// A container's status (runtime-spec "state").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being created.
    Creating,
    /// Created; init waits for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The process has exited.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}
