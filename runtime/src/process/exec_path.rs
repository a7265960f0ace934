//! Finding `args[0]` the way execvp does, with the container's PATH.

use super::ProcessError;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// PATH when `process.env` sets none (the same list as runc and Go).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The first `PATH=` in `env`, as getenv would find it.
pub(super) fn path_from_env(env: &[String]) -> Option<&str> {
    env.iter().find_map(|e| e.strip_prefix("PATH="))
}

/// The kernel's text for `e` in lower case, as Go's exec prints it.
fn errno_text(e: &std::io::Error) -> String {
    let mut s = super::describe(e);
    if let Some(first) = s.get(..1) {
        s.replace_range(..1, &first.to_lowercase());
    }
    s
}

/// Why `path` cannot be executed, or `None` when it can (a regular file
/// with an execute bit).
fn not_executable(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) => Some(errno_text(&e)),
        Ok(m) if m.is_dir() => Some("is a directory".into()),
        Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => {
            Some("permission denied".into())
        }
        Ok(_) => None,
    }
}

/// Resolves `name`: with a '/', as given (relative to the current
/// directory); otherwise the first executable in `path` (`None`: the
/// default PATH). Empty and relative PATH entries are skipped, so the
/// current directory is never searched by accident.
pub fn resolve(name: &str, path: Option<&str>) -> Result<PathBuf, ProcessError> {
    if name.contains('/') {
        return match not_executable(Path::new(name)) {
            None => Ok(PathBuf::from(name)),
            Some(why) => Err(ProcessError(format!("exec: \"{name}\": {why}"))),
        };
    }
    if !name.is_empty() {
        for dir in path.unwrap_or(DEFAULT_PATH).split(':') {
            if !dir.starts_with('/') {
                continue;
            }
            let candidate = Path::new(dir).join(name);
            if not_executable(&candidate).is_none() {
                return Ok(candidate);
            }
        }
    }
    Err(ProcessError(format!(
        "exec: \"{name}\": executable file not found in $PATH"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("berth-exec-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn file(&self, rel: &str, mode: u32) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, b"#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
            p
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn path_search_takes_the_first_executable() {
        let t = TempDir::new("first");
        t.file("a/tool", 0o644); // not executable: skipped
        let b = t.file("b/tool", 0o755);
        t.file("c/tool", 0o755);
        let path = format!("{0}/a:{0}/b:{0}/c", t.0.display());
        assert_eq!(resolve("tool", Some(&path)).unwrap(), b);
    }

    #[test]
    fn missing_command_is_not_found_in_path() {
        let t = TempDir::new("missing");
        fs::create_dir_all(t.0.join("tool")).unwrap(); // a directory is no match
        let path = format!(":relative:{}", t.0.display());
        assert_eq!(
            resolve("tool", Some(&path)).unwrap_err().to_string(),
            "exec: \"tool\": executable file not found in $PATH"
        );
        assert_eq!(
            resolve("", Some(&path)).unwrap_err().to_string(),
            "exec: \"\": executable file not found in $PATH"
        );
    }

    #[test]
    fn names_with_a_slash_are_used_as_given() {
        let t = TempDir::new("slash");
        let ok = t.file("run", 0o700);
        let noexec = t.file("data", 0o644);
        let s = |p: &Path| p.to_str().unwrap().to_string();
        assert_eq!(resolve(&s(&ok), None).unwrap(), ok);
        assert_eq!(
            resolve(&s(&noexec), None).unwrap_err().to_string(),
            format!("exec: \"{}\": permission denied", s(&noexec))
        );
        assert_eq!(
            resolve(&s(&t.0), None).unwrap_err().to_string(),
            format!("exec: \"{}\": is a directory", s(&t.0))
        );
        let gone = t.0.join("gone");
        assert_eq!(
            resolve(&s(&gone), None).unwrap_err().to_string(),
            format!("exec: \"{}\": no such file or directory", s(&gone))
        );
    }

    #[test]
    fn default_path_finds_sh() {
        assert_eq!(resolve("sh", None).unwrap(), PathBuf::from("/usr/bin/sh"));
    }

    #[test]
    fn first_path_variable_wins() {
        let env = vec![
            "A=1".to_string(),
            "PATH=/x".to_string(),
            "PATH=/y".to_string(),
        ];
        assert_eq!(path_from_env(&env), Some("/x"));
        assert_eq!(path_from_env(&[]), None);
    }
}
