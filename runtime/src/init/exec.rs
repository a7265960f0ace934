//! The last steps before execve: working directory, executable lookup,
//! argv/env, preserved descriptors, signal state.

use oci_spec::runtime::Process;
use std::ffi::CString;

/// Everything execve needs, checked before berth create reports success.
pub struct Prepared {
    exe: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
}

impl Prepared {
    /// Enters `process.cwd` (proving it is inside the container, not reached
    /// through a leaked descriptor: CVE-2024-21626), resolves the executable
    /// and builds argv/env.
    pub fn new(process: &Process, preserve_fds: i32) -> Result<Prepared, String> {
        let cwd = process.cwd();
        std::env::set_current_dir(cwd)
            .map_err(|e| format!("process.cwd \"{}\": {e}", cwd.display()))?;
        // getcwd fails (or says "(unreachable)") when the directory is not
        // below the process's root.
        match std::env::current_dir() {
            Ok(p) if p.is_absolute() => {}
            _ => {
                return Err(format!(
                    "process.cwd \"{}\" is outside the container",
                    cwd.display()
                ))
            }
        }
        let exe = crate::process::find_executable(process).map_err(|e| e.to_string())?;
        let cstr = |s: &str, what: &str| {
            CString::new(s).map_err(|_| format!("{what} \"{s}\" contains a NUL byte"))
        };
        let exe = cstr(&exe.to_string_lossy(), "process.args[0]")?;
        let argv = process
            .args()
            .iter()
            .flatten()
            .map(|a| cstr(a, "process.args"))
            .collect::<Result<Vec<_>, _>>()?;
        let env = process
            .env()
            .iter()
            .flatten()
            .map(|e| cstr(e, "process.env"))
            .collect::<Result<Vec<_>, _>>()?;
        for fd in 3..3 + preserve_fds {
            crate::sys::fd::clear_cloexec(fd)
                .map_err(|e| format!("--preserve-fds: fd {fd}: {e}"))?;
        }
        Ok(Prepared { exe, argv, env })
    }

    /// Resets the signal state berth changed and execs. Returns only on error.
    pub fn exec(self) -> Result<std::convert::Infallible, String> {
        reset_signals();
        let e = nix::unistd::execve(&self.exe, &self.argv, &self.env).unwrap_err();
        Err(format!("exec {:?}: {e}", self.exe))
    }
}

/// Unblocks every signal and restores default dispositions (Rust ignores
/// SIGPIPE, and an ignored disposition survives execve).
fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no handler code of ours.
        let _ = unsafe { sigaction(sig, &dfl) };
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}
