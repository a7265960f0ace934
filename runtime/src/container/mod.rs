//! A container on disk and its lifecycle verbs, one file per verb.
//!
//! Each container is a directory `<root>/<id>/` holding `state.json` (written
//! atomically) and, between `create` and `start`, the `exec.fifo` whose
//! opening by `start` releases the waiting init process.

mod create;
mod delete;
mod events;
mod exec;
mod exec_process;
mod id;
mod kill;
mod list;
mod lock;
mod pause;
mod procstat;
mod ps;
mod run;
mod start;
mod state;
mod status;
mod tty_proxy;
mod update;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use events::{events, parse_interval};
pub use exec::{exec, ExecOptions};
pub use exec_process::ExecFlags;
pub use id::check_id;
pub use kill::kill;
pub use list::{list, ListFormat};
pub use lock::Lock;
pub use pause::{pause, resume};
pub use ps::{ps, PsFormat};
pub use run::run;
pub use start::start;
pub use state::{ContainerState, StateFile};
pub use status::Status;
pub use update::{update, UpdateFlags};

use std::path::{Path, PathBuf};

/// Name of the state file inside a container's directory.
pub const STATE_FILE: &str = "state.json";
/// Name of the fifo `start` opens to release init.
pub const EXEC_FIFO: &str = "exec.fifo";

/// A failure of a lifecycle verb, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The id is malformed.
    #[error("container id \"{0}\" is not valid: {1}")]
    BadId(String, &'static str),
    /// No container has this id.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// The id is taken.
    #[error("container id \"{0}\" is already in use")]
    Exists(String),
    /// The verb does not apply in the container's current status.
    #[error("container \"{id}\" is {status}: {what}")]
    WrongStatus {
        /// Container id.
        id: String,
        /// Its current status.
        status: Status,
        /// What could not be done.
        what: &'static str,
    },
    /// A problem in config.json.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// Anything else, already worded with its context.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl std::fmt::Display, e: std::io::Error) -> Self {
        Error::Other(format!("{what}: {e}"))
    }
}

/// Where a container's files live.
pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}
