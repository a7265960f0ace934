//! The process `berth exec` runs: from `--process FILE`, or the container's
//! own process with the command and flags given (runc's rules).

use super::Error;
use oci_spec::runtime::{Capability, Process};
use std::collections::HashSet;
use std::path::PathBuf;

/// `berth exec` flags that shape the process.
#[derive(Debug, Clone, Default)]
pub struct ExecFlags {
    /// `--process FILE`.
    pub process_file: Option<PathBuf>,
    /// The command.
    pub args: Vec<String>,
    /// `--tty`.
    pub tty: bool,
    /// `--env`, repeated.
    pub env: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--user uid[:gid]`.
    pub user: Option<String>,
    /// `--additional-gids`, repeated.
    pub additional_gids: Vec<u32>,
    /// `--cap`, repeated.
    pub caps: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--apparmor`.
    pub apparmor: Option<String>,
    /// `--process-label`.
    pub process_label: Option<String>,
}

/// Builds the process to exec from the flags and the container's process.
pub fn build(flags: &ExecFlags, base: Option<&Process>) -> Result<Process, Error> {
    if let Some(path) = &flags.process_file {
        let data = std::fs::read(path)
            .map_err(|e| Error::Other(format!("--process {}: {e}", path.display())))?;
        let de = &mut serde_json::Deserializer::from_slice(&data);
        let p: Process = serde_path_to_error::deserialize(de).map_err(|e| {
            Error::Other(format!(
                "--process {}: {}: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        })?;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::Other(format!(
                "--process {}: args is missing or empty",
                path.display()
            )));
        }
        return Ok(p);
    }
    if flags.args.is_empty() {
        return Err(Error::Other("exec: no command given".into()));
    }
    let mut p = base.cloned().unwrap_or_default();
    p.set_args(Some(flags.args.clone()));
    p.set_terminal(Some(flags.tty));
    let mut env = p.env().clone().unwrap_or_default();
    for e in &flags.env {
        let key = e.split('=').next().unwrap_or(e);
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &flags.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &flags.user {
        let (uid, gid) = parse_user(u)?;
        p.user_mut().set_uid(uid);
        if let Some(g) = gid {
            p.user_mut().set_gid(g);
        }
    }
    if !flags.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(flags.additional_gids.clone()));
    }
    if !flags.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add: HashSet<Capability> = flags
            .caps
            .iter()
            .map(|c| parse_cap(c))
            .collect::<Result<_, _>>()?;
        let merge = |s: &Option<HashSet<Capability>>| {
            let mut s = s.clone().unwrap_or_default();
            s.extend(add.iter().copied());
            Some(s)
        };
        caps.set_bounding(merge(caps.bounding()));
        caps.set_effective(merge(caps.effective()));
        caps.set_permitted(merge(caps.permitted()));
        caps.set_inheritable(merge(caps.inheritable()));
        caps.set_ambient(merge(caps.ambient()));
        p.set_capabilities(Some(caps));
    }
    if flags.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &flags.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &flags.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    Ok(p)
}

fn parse_user(u: &str) -> Result<(u32, Option<u32>), Error> {
    let bad = || Error::Other(format!("--user \"{u}\" is not uid[:gid]"));
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

fn parse_cap(c: &str) -> Result<Capability, Error> {
    let upper = c.to_ascii_uppercase();
    let name = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(name))
        .map_err(|_| Error::Other(format!("--cap \"{c}\" is unknown")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_container_process() {
        let mut base = Process::default();
        base.set_env(Some(vec!["PATH=/bin".into(), "A=1".into()]));
        let flags = ExecFlags {
            args: vec!["ls".into()],
            env: vec!["A=2".into(), "B=3".into()],
            user: Some("1000:1001".into()),
            caps: vec!["net_admin".into()],
            ..Default::default()
        };
        let p = build(&flags, Some(&base)).unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &vec!["ls".to_string()]);
        assert_eq!(
            p.env().as_ref().unwrap(),
            &vec!["PATH=/bin".to_string(), "A=2".into(), "B=3".into()]
        );
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        let caps = p.capabilities().as_ref().unwrap();
        assert!(caps
            .bounding()
            .as_ref()
            .unwrap()
            .contains(&Capability::NetAdmin));
    }

    #[test]
    fn bad_flags_name_themselves() {
        let f = ExecFlags {
            args: vec!["x".into()],
            user: Some("bob".into()),
            ..Default::default()
        };
        assert_eq!(
            build(&f, None).unwrap_err().to_string(),
            "--user \"bob\" is not uid[:gid]"
        );
        let f = ExecFlags {
            args: vec!["x".into()],
            caps: vec!["CAP_FOO".into()],
            ..Default::default()
        };
        assert_eq!(
            build(&f, None).unwrap_err().to_string(),
            "--cap \"CAP_FOO\" is unknown"
        );
        assert_eq!(
            build(&ExecFlags::default(), None).unwrap_err().to_string(),
            "exec: no command given"
        );
    }

    #[test]
    fn process_file_without_args_is_refused() {
        let dir = std::env::temp_dir().join(format!("berth-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.json");
        std::fs::write(&f, r#"{"user":{"uid":0,"gid":0},"cwd":"/"}"#).unwrap();
        let e = build(
            &ExecFlags {
                process_file: Some(f.clone()),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.to_string().ends_with("args is missing or empty"), "{e}");
    }
}
