//! `berth update`: change a live container's resources, from a JSON file
//! (`--resources FILE`, `-` for stdin) and runc's flags.

use super::{Error, Lock, StateFile, Status};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use std::path::Path;

/// runc's `update` flags; `None` leaves a value alone.
#[derive(Debug, Clone, Default)]
pub struct UpdateFlags {
    /// `--resources FILE` (`-`: stdin).
    pub resources: Option<String>,
    /// `--memory`.
    pub memory: Option<String>,
    /// `--memory-swap`.
    pub memory_swap: Option<String>,
    /// `--memory-reservation`.
    pub memory_reservation: Option<String>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpu-quota`.
    pub cpu_quota: Option<i64>,
    /// `--cpu-period`.
    pub cpu_period: Option<u64>,
    /// `--cpu-rt-runtime`.
    pub cpu_rt_runtime: Option<i64>,
    /// `--cpu-rt-period`.
    pub cpu_rt_period: Option<u64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`.
    pub blkio_weight: Option<u16>,
}

/// Applies the update and records it in the container's state.
pub fn update(root: &Path, id: &str, flags: &UpdateFlags) -> Result<(), Error> {
    let sf = StateFile::load(root, id)?;
    let _lock = Lock::exclusive(&sf.dir, id)?;
    let status = sf.status();
    if status == Status::Stopped {
        return Err(Error::WrongStatus {
            id: id.into(),
            status,
            what: "a stopped container cannot be updated",
        });
    }
    let change = requested(flags)?;
    let resources: LinuxResources =
        serde_json::from_value(change.clone()).map_err(|e| Error::Other(format!("update: {e}")))?;
    let cg = super::pause::cgroup(&sf)?;
    cg.update(&resources)
        .map_err(|e| Error::Other(e.to_string()))?;
    // Remember the new values so later verbs see what is in force.
    let mut state = sf.state.clone();
    let mut spec = serde_json::to_value(&state.spec).map_err(|e| Error::Other(e.to_string()))?;
    merge(&mut spec["linux"]["resources"], &change);
    state.spec = serde_json::from_value(spec).map_err(|e| Error::Other(e.to_string()))?;
    StateFile::save(&sf.dir, &state)
}

/// The resources the file and flags ask for, as runtime-spec JSON.
pub fn requested(flags: &UpdateFlags) -> Result<Value, Error> {
    let mut v = match &flags.resources {
        Some(src) => read_resources(src)?,
        None => json!({}),
    };
    if !v.is_object() {
        return Err(Error::Other("--resources: not a JSON object".into()));
    }
    let mut set = |path: &[&str], value: Value| {
        let mut cur = &mut v;
        for p in path {
            if !cur.is_object() {
                *cur = json!({});
            }
            let Value::Object(o) = cur else { return };
            cur = o.entry(p.to_string()).or_insert(Value::Null);
        }
        *cur = value;
    };
    if let Some(m) = &flags.memory {
        set(&["memory", "limit"], json!(parse_size("--memory", m)?));
    }
    if let Some(m) = &flags.memory_swap {
        set(&["memory", "swap"], json!(parse_size("--memory-swap", m)?));
    }
    if let Some(m) = &flags.memory_reservation {
        set(
            &["memory", "reservation"],
            json!(parse_size("--memory-reservation", m)?),
        );
    }
    if let Some(x) = flags.cpu_shares {
        set(&["cpu", "shares"], json!(x));
    }
    if let Some(x) = flags.cpu_quota {
        set(&["cpu", "quota"], json!(x));
    }
    if let Some(x) = flags.cpu_period {
        set(&["cpu", "period"], json!(x));
    }
    if let Some(x) = flags.cpu_rt_runtime {
        set(&["cpu", "realtimeRuntime"], json!(x));
    }
    if let Some(x) = flags.cpu_rt_period {
        set(&["cpu", "realtimePeriod"], json!(x));
    }
    if let Some(x) = &flags.cpuset_cpus {
        set(&["cpu", "cpus"], json!(x));
    }
    if let Some(x) = &flags.cpuset_mems {
        set(&["cpu", "mems"], json!(x));
    }
    if let Some(x) = flags.pids_limit {
        set(&["pids", "limit"], json!(x));
    }
    if let Some(x) = flags.blkio_weight {
        set(&["blockIO", "weight"], json!(x));
    }
    Ok(v)
}

fn read_resources(src: &str) -> Result<Value, Error> {
    let data = if src == "-" {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::Other(format!("--resources -: {e}")))?;
        s
    } else {
        std::fs::read(src).map_err(|e| Error::Other(format!("--resources {src}: {e}")))?
    };
    let v: Value = serde_json::from_slice(&data)
        .map_err(|e| Error::Other(format!("--resources {src}: not valid JSON: {e}")))?;
    // Check the shape now, so the error names the field.
    let de = v.clone();
    serde_path_to_error::deserialize::<_, LinuxResources>(de)
        .map_err(|e| Error::Other(format!("--resources {src}: {}: {}", e.path(), e.inner())))?;
    Ok(v)
}

/// Sizes as docker and runc take them: `1024`, `512k`, `128m`, `1g`, `-1`.
pub fn parse_size(flag: &str, s: &str) -> Result<i64, Error> {
    let bad = || Error::Other(format!("{flag} \"{s}\" is not a size (like 128m or 1g)"));
    if s == "-1" {
        return Ok(-1);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(mult).filter(|v| *v >= 0).ok_or_else(bad)
}

/// Overlays `change` onto `base`, object by object.
fn merge(base: &mut Value, change: &Value) {
    match (base, change) {
        (Value::Object(b), Value::Object(c)) => {
            for (k, v) in c {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, c) => {
            if b.is_null() && c.is_object() {
                *b = Value::Object(Map::new());
                merge(b, c);
            } else {
                *b = c.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("--memory", "1024").unwrap(), 1024);
        assert_eq!(parse_size("--memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("--memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("--memory", "-1").unwrap(), -1);
        assert_eq!(
            parse_size("--memory", "lots").unwrap_err().to_string(),
            "--memory \"lots\" is not a size (like 128m or 1g)"
        );
    }

    #[test]
    fn flags_become_resources() {
        let f = UpdateFlags {
            memory: Some("64m".into()),
            pids_limit: Some(10),
            cpu_shares: Some(512),
            ..Default::default()
        };
        let v = requested(&f).unwrap();
        assert_eq!(v["memory"]["limit"], 64 << 20);
        assert_eq!(v["pids"]["limit"], 10);
        assert_eq!(v["cpu"]["shares"], 512);
        let _: LinuxResources = serde_json::from_value(v).unwrap();
    }

    #[test]
    fn merge_overlays() {
        let mut base = json!({"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3}});
        merge(
            &mut base,
            &json!({"memory": {"limit": 9}, "cpu": {"shares": 5}}),
        );
        assert_eq!(
            base,
            json!({"memory": {"limit": 9, "swap": 2}, "pids": {"limit": 3}, "cpu": {"shares": 5}})
        );
    }
}
