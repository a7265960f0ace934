//! `berth exec`: run a new process inside a live container.

use super::exec_process::{self, ExecFlags};
use super::{Error, StateFile, Status};
use crate::exec::ExecContext;
use crate::launch::{self, Child};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// `berth exec` options besides the process's own flags.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// The process flags.
    pub flags: ExecFlags,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--detach`.
    pub detach: bool,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
    /// `--cgroup`: sub-cgroups to run in.
    pub cgroup: Vec<String>,
}

/// Runs the process; returns berth's exit code (the process's status when
/// not detached).
pub fn exec(root: &Path, opts: &ExecOptions) -> Result<i32, Error> {
    let sf = StateFile::load(root, &opts.id)?;
    let status = sf.status();
    if !matches!(status, Status::Running | Status::Created) {
        return Err(Error::WrongStatus {
            id: opts.id.clone(),
            status,
            what: "exec needs a running container",
        });
    }
    let process = exec_process::build(&opts.flags, sf.state.spec.process().as_ref())?;
    crate::process::check(&process).map_err(|e| Error::Other(e.to_string()))?;
    let terminal = process.terminal().unwrap_or(false);
    let console_socket = match (&opts.console_socket, terminal) {
        (Some(p), true) => Some(
            UnixStream::connect(p)
                .map_err(|e| Error::Other(format!("--console-socket {}: {e}", p.display())))?,
        ),
        (None, true) => return Err(Error::Other("exec --tty needs --console-socket".into())),
        _ => None,
    };
    let seccomp = match sf
        .state
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
    {
        Some(p) => {
            Some(crate::seccomp::Filter::compile(p).map_err(|e| Error::Other(e.to_string()))?)
        }
        None => None,
    };
    let wait_set = if opts.detach {
        None
    } else {
        Some(super::run::prepare_to_wait()?)
    };
    let ctx = ExecContext {
        spec: sf.state.spec.clone(),
        process,
        console_socket,
        preserve_fds: opts.preserve_fds,
        seccomp,
    };
    let cgroup = match (&sf.state.cgroup, opts.cgroup.is_empty()) {
        (Some(cg), false) => Some(
            cg.sub(&opts.cgroup)
                .map_err(|e| Error::Other(e.to_string()))?,
        ),
        (cg, _) => cg.clone(),
    };
    let pid = launch::launch(
        Child::Exec(Box::new(ctx), sf.state.pid),
        cgroup.as_ref(),
        |_| Ok(String::new()),
    )
    .map_err(|e| Error::Other(e.msg))?;
    if let Some(pf) = &opts.pid_file {
        super::create::write_pid_file(pf, pid)?;
    }
    match wait_set {
        None => Ok(0),
        Some(set) => super::run::wait_forwarding(pid, &set, None),
    }
}
