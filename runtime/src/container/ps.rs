//! `berth ps`: the container's processes, as a table from the host's `ps`
//! or as the JSON list of pids containerd's shim reads.

use super::{Error, StateFile};
use std::path::Path;

/// Output of `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PsFormat {
    /// The host's `ps` output, filtered to the container.
    Table,
    /// `[pid, ...]`.
    Json,
}

/// Lists container `id`'s processes; `ps_args` go to ps(1) (default `-ef`).
pub fn ps(root: &Path, id: &str, format: PsFormat, ps_args: &[String]) -> Result<String, Error> {
    let sf = StateFile::load(root, id)?;
    let pids = super::pause::cgroup(&sf)?
        .pids()
        .map_err(|e| Error::Other(e.to_string()))?;
    if format == PsFormat::Json {
        return Ok(format!("{}\n", serde_json::json!(pids)));
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::Other(format!("ps: {e}")))?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    filter(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// Keeps the header and the lines whose PID column is one of `pids`.
fn filter(text: &str, pids: &[i32]) -> Result<String, Error> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Other("ps: its output has no PID column".into()))?;
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_keeps_container_pids() {
        let t = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 x ? 0 init\nroot 42 1 0 x ? 0 sh\n";
        assert_eq!(
            super::filter(t, &[42]).unwrap(),
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 x ? 0 sh\n"
        );
        assert!(super::filter("A B\n1 2\n", &[1]).is_err());
    }
}
