//! One container's verbs exclude each other with an flock on its directory,
//! so two verbs racing on one id cannot corrupt its state.

use super::Error;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::Path;

/// Held while a verb reads or changes a container's state.
pub struct Lock {
    _flock: Flock<File>,
}

impl Lock {
    /// Takes the exclusive lock on the container directory `dir`.
    pub fn exclusive(dir: &Path, id: &str) -> Result<Lock, Error> {
        let f = File::open(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ => Error::io(format!("open {}", dir.display()), e),
        })?;
        let flock = Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io(format!("lock {}", dir.display()), e.into()))?;
        Ok(Lock { _flock: flock })
    }
}
