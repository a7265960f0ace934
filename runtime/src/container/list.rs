//! `berth list`: every container under the root.

use super::{Error, StateFile};
use std::path::Path;

/// Output format of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Table,
    /// A JSON array of states.
    Json,
}

/// Writes the list of containers to stdout.
pub fn list(root: &Path, format: ListFormat, quiet: bool) -> Result<String, Error> {
    let mut states = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(sf) = StateFile::load(root, &name) {
                let status = sf.status();
                states.push(sf.oci_state(status));
            }
        }
    }
    states.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    if quiet {
        return Ok(states
            .iter()
            .map(|s| format!("{}\n", s["id"].as_str().unwrap_or("")))
            .collect());
    }
    if format == ListFormat::Json {
        return Ok(format!("{}\n", serde_json::Value::Array(states)));
    }
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for s in &states {
        let f = |k: &str| match &s[k] {
            serde_json::Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        rows.push([
            f("id"),
            f("pid"),
            f("status"),
            f("bundle"),
            f("created"),
            f("owner"),
        ]);
    }
    Ok(table(&rows))
}

/// Left-aligned columns separated by at least three spaces, like runc.
fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
