//! Resource usage in the shape of runc's `events --stats` data: `cpu`,
//! `memory`, `pids`, `blkio`, `hugetlb`. Parsers are pure; each controller
//! is read from its v1 directory or else from the cgroup v2 one.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{fs, Cgroup, CgroupError, Mode};

/// `key value` lines (memory.stat, cpu.stat, memory.events...).
pub fn parse_flat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// A single number; `max` (no limit) reads as 0, like runc.
pub fn parse_value(text: &str) -> u64 {
    let t = text.trim();
    if t == "max" {
        return 0;
    }
    t.parse().unwrap_or(0)
}

/// v1 blkio lines `8:0 Read 4096` as runc's entries; the `Total` lines of
/// the kernel are kept, lines without a device are not.
pub fn parse_blkio_v1(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (dev, op, value) = (it.next()?, it.next()?, it.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(json!({
                "major": major.parse::<u64>().ok()?,
                "minor": minor.parse::<u64>().ok()?,
                "op": op,
                "value": value.parse::<u64>().ok()?,
            }))
        })
        .collect()
}

/// v2 io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`) as
/// (ioServiceBytesRecursive, ioServicedRecursive).
pub fn parse_io_stat(text: &str) -> (Vec<Value>, Vec<Value>) {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(json!({"major": major, "minor": minor, "op": op, "value": v}));
        }
    }
    (bytes, ios)
}

fn num(dir: &Path, file: &str) -> u64 {
    fs::read(dir, file).map(|t| parse_value(&t)).unwrap_or(0)
}

fn percpu(dir: &Path, file: &str) -> Vec<u64> {
    fs::read(dir, file)
        .map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// USER_HZ ticks to nanoseconds.
fn ticks_to_ns(ticks: u64) -> u64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    ticks.saturating_mul(1_000_000_000 / hz)
}

fn cpu_v1(cpu: Option<&Path>, acct: Option<&Path>) -> Value {
    let mut usage = json!({});
    if let Some(d) = acct {
        let stat = parse_flat(&fs::read(d, "cpuacct.stat").unwrap_or_default());
        usage = json!({
            "total": num(d, "cpuacct.usage"),
            "percpu": percpu(d, "cpuacct.usage_percpu"),
            "percpu_kernel": percpu(d, "cpuacct.usage_percpu_sys"),
            "percpu_user": percpu(d, "cpuacct.usage_percpu_user"),
            "kernel": ticks_to_ns(stat.get("system").copied().unwrap_or(0)),
            "user": ticks_to_ns(stat.get("user").copied().unwrap_or(0)),
        });
    }
    let stat = cpu
        .map(|d| parse_flat(&fs::read(d, "cpu.stat").unwrap_or_default()))
        .unwrap_or_default();
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    json!({
        "usage": usage,
        "throttling": {
            "periods": get("nr_periods"),
            "throttled_periods": get("nr_throttled"),
            "throttled_time": get("throttled_time"),
        }
    })
}

fn cpu_v2(d: &Path) -> Value {
    let stat = parse_flat(&fs::read(d, "cpu.stat").unwrap_or_default());
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    json!({
        "usage": {
            "total": get("usage_usec") * 1000,
            "kernel": get("system_usec") * 1000,
            "user": get("user_usec") * 1000,
        },
        "throttling": {
            "periods": get("nr_periods"),
            "throttled_periods": get("nr_throttled"),
            "throttled_time": get("throttled_usec") * 1000,
        }
    })
}

fn mem_entry(d: &Path, prefix: &str) -> Value {
    json!({
        "limit": num(d, &format!("{prefix}limit_in_bytes")),
        "usage": num(d, &format!("{prefix}usage_in_bytes")),
        "max": num(d, &format!("{prefix}max_usage_in_bytes")),
        "failcnt": num(d, &format!("{prefix}failcnt")),
    })
}

fn memory_v1(d: &Path) -> Value {
    let raw = parse_flat(&fs::read(d, "memory.stat").unwrap_or_default());
    json!({
        "cache": raw.get("cache").copied().unwrap_or(0),
        "usage": mem_entry(d, "memory."),
        "swap": mem_entry(d, "memory.memsw."),
        "kernel": mem_entry(d, "memory.kmem."),
        "kernelTCP": mem_entry(d, "memory.kmem.tcp."),
        "raw": raw,
    })
}

fn memory_v2(d: &Path) -> Value {
    let raw = parse_flat(&fs::read(d, "memory.stat").unwrap_or_default());
    let events = parse_flat(&fs::read(d, "memory.events").unwrap_or_default());
    json!({
        "cache": raw.get("file").copied().unwrap_or(0),
        "usage": {
            "limit": num(d, "memory.max"),
            "usage": num(d, "memory.current"),
            "max": num(d, "memory.peak"),
            "failcnt": events.get("max").copied().unwrap_or(0),
        },
        "swap": {
            "limit": num(d, "memory.swap.max"),
            "usage": num(d, "memory.swap.current"),
            "max": num(d, "memory.swap.peak"),
            "failcnt": 0,
        },
        "raw": raw,
    })
}

/// Page sizes the kernel offers, as hugetlb files name them (`2MB`).
fn page_sizes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut sizes: Vec<String> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(match kb {
                k if k >= 1 << 20 && k % (1 << 20) == 0 => format!("{}GB", k >> 20),
                k if k >= 1 << 10 && k % (1 << 10) == 0 => format!("{}MB", k >> 10),
                k => format!("{k}KB"),
            })
        })
        .collect();
    sizes.sort();
    sizes
}

fn hugetlb(d: &Path, v2: bool) -> Value {
    let mut out = Map::new();
    for size in page_sizes() {
        let entry = if v2 {
            let events =
                parse_flat(&fs::read(d, &format!("hugetlb.{size}.events")).unwrap_or_default());
            json!({
                "usage": num(d, &format!("hugetlb.{size}.current")),
                "max": num(d, &format!("hugetlb.{size}.max")),
                "failcnt": events.get("max").copied().unwrap_or(0),
            })
        } else {
            json!({
                "usage": num(d, &format!("hugetlb.{size}.usage_in_bytes")),
                "max": num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                "failcnt": num(d, &format!("hugetlb.{size}.failcnt")),
            })
        };
        out.insert(size, entry);
    }
    Value::Object(out)
}

impl Cgroup {
    /// Where a controller's files are: its v1 directory, else the cgroup v2
    /// directory if that has the controller enabled.
    fn stats_dir(&self, v1: &str, v2: &str) -> Option<(&Path, bool)> {
        if let Some(d) = self.v1_dir(v1) {
            return Some((d, false));
        }
        let u = self.unified.as_ref()?;
        if self.mode == Mode::Unified {
            return Some((&u.path, true));
        }
        let parent = u.path.parent()?;
        let enabled = fs::read(parent, "cgroup.subtree_control").unwrap_or_default();
        enabled
            .split_whitespace()
            .any(|c| c == v2)
            .then_some((u.path.as_path(), true))
    }

    /// Usage of every controller the cgroup has, as runc's `events --stats`
    /// `data` object.
    pub fn stats(&self) -> Result<Value, CgroupError> {
        if !self.dirs().any(Path::exists) {
            return Err(CgroupError("the container's cgroup does not exist".into()));
        }
        let mut out = Map::new();
        if self.mode == Mode::Unified {
            if let Some(u) = &self.unified {
                out.insert("cpu".into(), cpu_v2(&u.path));
            }
        } else if self.v1_dir("cpu").is_some() || self.v1_dir("cpuacct").is_some() {
            out.insert(
                "cpu".into(),
                cpu_v1(self.v1_dir("cpu"), self.v1_dir("cpuacct")),
            );
        }
        if let Some((d, v2)) = self.stats_dir("memory", "memory") {
            out.insert(
                "memory".into(),
                if v2 { memory_v2(d) } else { memory_v1(d) },
            );
        }
        if let Some((d, _)) = self.stats_dir("pids", "pids") {
            out.insert(
                "pids".into(),
                json!({"current": num(d, "pids.current"), "limit": num(d, "pids.max")}),
            );
        }
        if let Some((d, v2)) = self.stats_dir("blkio", "io") {
            let blkio = if v2 {
                let (bytes, ios) = parse_io_stat(&fs::read(d, "io.stat").unwrap_or_default());
                json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios})
            } else {
                let read = |f: &str| parse_blkio_v1(&fs::read(d, f).unwrap_or_default());
                json!({
                    "ioServiceBytesRecursive": read("blkio.throttle.io_service_bytes_recursive"),
                    "ioServicedRecursive": read("blkio.throttle.io_serviced_recursive"),
                })
            };
            out.insert("blkio".into(), blkio);
        }
        if let Some((d, v2)) = self.stats_dir("hugetlb", "hugetlb") {
            out.insert("hugetlb".into(), hugetlb(d, v2));
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_files_and_values_parse() {
        let m = parse_flat("cache 4096\nrss 8192\nbogus x\n");
        assert_eq!(m.get("cache"), Some(&4096));
        assert_eq!(m.len(), 2);
        assert_eq!(parse_value("max\n"), 0);
        assert_eq!(parse_value("42\n"), 42);
    }

    #[test]
    fn blkio_and_io_stat_become_runc_entries() {
        let v1 = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(v1.len(), 2);
        assert_eq!(
            v1[0],
            json!({"major": 8, "minor": 0, "op": "Read", "value": 4096})
        );
        let (bytes, ios) =
            parse_io_stat("8:16 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(
            bytes[1],
            json!({"major": 8, "minor": 16, "op": "Write", "value": 20})
        );
        assert_eq!(ios[0]["value"], 1);
    }
}
