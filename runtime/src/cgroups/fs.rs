//! Reading and writing cgroup files. Each value is written with one
//! `write(2)`, as the kernel expects, and every error names the file.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::CgroupError;

/// Writes `value` to `dir/file` in a single write.
pub fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(dir.join(file))?;
    let n = f.write(value.as_bytes())?;
    if n != value.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
    }
    Ok(())
}

/// Reads `dir/file` as text.
pub fn read(dir: &Path, file: &str) -> io::Result<String> {
    std::fs::read_to_string(dir.join(file))
}

/// Reads `dir/file`, naming it in the error.
pub fn read_named(dir: &Path, file: &str) -> Result<String, CgroupError> {
    read(dir, file).map_err(|e| CgroupError(format!("reading {}: {e}", dir.join(file).display())))
}

/// Writes `dir/file`, naming it in the error.
pub fn write_named(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    write(dir, file, value).map_err(|e| {
        CgroupError(format!(
            "writing {value:?} to {}: {e}",
            dir.join(file).display()
        ))
    })
}

/// Parses cgroup.procs (one pid per line).
pub fn parse_pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Creates `dir` and any missing parents; records the directories it made,
/// outermost first, so a failure can remove exactly those. The common case
/// (only the leaf is missing) costs one mkdir.
pub fn mkdir_all(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => {
            created.push(dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(parent) = dir.parent() else {
                return Err(CgroupError(format!(
                    "creating cgroup {}: {e}",
                    dir.display()
                )));
            };
            mkdir_all(parent, created)?;
            mkdir_all(dir, created)
        }
        Err(e) => Err(CgroupError(format!(
            "creating cgroup {}: {e}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_procs_lines_become_pids() {
        assert_eq!(parse_pids("1\n22\n\n333\n"), vec![1, 22, 333]);
        assert!(parse_pids("").is_empty());
    }
}
