//! Runs the config's hooks: each gets the container state on stdin, its own
//! `args` and `env`, and is killed when its `timeout` passes.

use oci_spec::runtime::Hook;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A hook that failed; the message names the hook kind, index and path.
#[derive(Debug, thiserror::Error)]
#[error("{kind}[{index}] {path}: {why}")]
pub struct HookError {
    /// e.g. `hooks.createRuntime`.
    pub kind: String,
    /// Index in that list.
    pub index: usize,
    /// The hook's path.
    pub path: String,
    /// What went wrong (exit status, timeout, spawn error, stderr).
    pub why: String,
}

/// Runs `hooks` in order, stopping at the first failure.
pub fn run_all(kind: &str, hooks: Option<&Vec<Hook>>, state: &str) -> Result<(), HookError> {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        run_one(h, state).map_err(|why| HookError {
            kind: format!("hooks.{kind}"),
            index: i,
            path: h.path().display().to_string(),
            why,
        })?;
    }
    Ok(())
}

/// Runs one hook; the error says why it failed.
fn run_one(h: &Hook, state: &str) -> Result<(), String> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some((argv0, rest)) = args.split_first() {
            cmd.arg0(argv0).args(rest);
        }
    }
    cmd.env_clear();
    for e in h.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.as_bytes());
    }
    let timeout = h.timeout().filter(|&t| t > 0).map(|t| t as u64);
    if let Some(secs) = timeout {
        let pidfd = crate::sys::pidfd::open(child.id() as i32).map_err(|e| e.to_string())?;
        let exited = crate::sys::pidfd::wait_exit(&pidfd, Some(Duration::from_secs(secs)))
            .map_err(|e| e.to_string())?;
        if !exited {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {secs}s"));
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    let status = match (
        out.status.code(),
        std::os::unix::process::ExitStatusExt::signal(&out.status),
    ) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".to_string(),
    };
    if stderr.is_empty() {
        Err(status)
    } else {
        Err(format!("{status}: {stderr}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn hook_gets_state_args_and_env() {
        let dir = std::env::temp_dir().join(format!("berth-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {0}; echo \"$0 $1 $FOO\" >> {0}","a0","a1"],"env":["FOO=bar"]}}"#,
            out.display()
        ));
        run_all("prestart", Some(&vec![h]), "{\"id\":\"x\"}").unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, "{\"id\":\"x\"}a0 a1 bar\n");
    }

    #[test]
    fn failing_hook_names_itself_and_its_stderr() {
        let h = hook(r#"{"path":"/bin/sh","args":["sh","-c","echo nope >&2; exit 3"]}"#);
        let e = run_all("createRuntime", Some(&vec![h]), "{}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "hooks.createRuntime[0] /bin/sh: exit status 3: nope"
        );
    }

    #[test]
    fn hook_timeout_kills_it() {
        let h = hook(r#"{"path":"/bin/sleep","args":["sleep","30"],"timeout":1}"#);
        let e = run_all("poststart", Some(&vec![h]), "{}").unwrap_err();
        assert!(e.to_string().ends_with("timed out after 1s"), "{e}");
    }
}
