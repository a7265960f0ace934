//! `hoist run`: bundle an image and hand the bundle to an OCI runtime (berth).

use crate::bundle::{self, RootfsKind, SpecOptions};
use crate::manifest::Descriptor;
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Run failures.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Making the bundle.
    #[error(transparent)]
    Bundle(#[from] bundle::WriteError),
    /// The bundle directory.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Starting the runtime.
    #[error("runtime {0}: {1}")]
    Runtime(PathBuf, std::io::Error),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The runtime binary; see [`find_runtime`].
    pub runtime: Option<PathBuf>,
    /// Delete the bundle afterwards.
    pub rm: bool,
    /// Spec choices.
    pub spec: SpecOptions,
    /// Overlay or copy.
    pub kind: RootfsKind,
}

/// The runtime: the explicit one, else `berth` next to this executable, else `berth` on PATH.
pub fn find_runtime(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(sib) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("berth")))
    {
        if sib.is_file() {
            return sib;
        }
    }
    PathBuf::from("berth")
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Keeps hoist alive through Ctrl-C and friends while the runtime runs, so the bundle
/// is still cleaned up; the runtime (which forwards them to the container) gets them too.
/// A caught signal resets to its default in the exec'd runtime, unlike an ignored one.
fn survive_terminal_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler does nothing, so it is async-signal-safe; only the
        // disposition of this process changes.
        unsafe {
            libc::signal(sig, ignore_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Bundles `desc` under `<root>/containers/<id>` and runs it with the runtime;
/// returns the runtime's exit status.
pub fn run(store: &Store, desc: &Descriptor, opts: &RunOptions) -> Result<ExitStatus, RunError> {
    let id = format!(
        "hoist-{}-{}",
        std::process::id(),
        desc.digest.hex().get(..8).unwrap_or("")
    );
    let dir = store.root().join("containers").join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| RunError::Io(dir.clone(), e))?;
    let mut spec = opts.spec.clone();
    if spec.hostname.is_empty() {
        spec.hostname = id.chars().take(20).collect();
    }
    if let Err(e) = bundle::write_bundle(store, desc, &dir, opts.kind, &spec) {
        let _ = bundle::remove_bundle(&dir);
        return Err(e.into());
    }
    let rt = find_runtime(opts.runtime.as_deref());
    survive_terminal_signals();
    let status = std::process::Command::new(&rt)
        .arg("run")
        .arg("--bundle")
        .arg(&dir)
        .arg(&id)
        .status();
    if opts.rm {
        let _ = bundle::remove_bundle(&dir);
    } else {
        eprintln!("bundle kept at {}", dir.display());
    }
    status.map_err(|e| RunError::Runtime(rt, e))
}
