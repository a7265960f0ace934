//! The runc-compatible command line (being written).

/// Runs berth with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    0
}
