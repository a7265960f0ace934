//! `linux.resources` as cgroup file writes. Planning is pure: each
//! controller module turns its part of the config into [`Write`]s for v1
//! and for v2, validating values and naming the field; [`apply`] then picks,
//! per controller, the hierarchy the host has, and writes only what the
//! config asks for.

pub mod blkio;
pub mod cpu;
pub mod hugetlb;
pub mod memory;
pub mod network;
pub mod pids;
pub mod rdma;
pub mod unified;

use std::io;
use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{fs, v2, Cgroup, CgroupError, Mode};

/// One setting as a file write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The controller the file belongs to (v1 or v2 name).
    pub controller: &'static str,
    /// The config field, e.g. `linux.resources.memory.limit`.
    pub field: String,
    /// What to do.
    pub op: Op,
}

/// A write, or why this cgroup version cannot take the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write `value` to `file`.
    Set { file: String, value: String },
    /// This cgroup version has no such knob; the reason.
    Refuse(String),
}

impl Write {
    pub(crate) fn set(
        controller: &'static str,
        field: impl Into<String>,
        file: impl Into<String>,
        value: impl ToString,
    ) -> Write {
        Write {
            controller,
            field: field.into(),
            op: Op::Set {
                file: file.into(),
                value: value.to_string(),
            },
        }
    }

    pub(crate) fn refuse(
        controller: &'static str,
        field: impl Into<String>,
        why: impl Into<String>,
    ) -> Write {
        Write {
            controller,
            field: field.into(),
            op: Op::Refuse(why.into()),
        }
    }
}

/// The writes for cgroup v1, in order.
pub fn plan_v1(r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
    let mut w = Vec::new();
    if let Some(m) = r.memory() {
        memory::v1(m, &mut w)?;
    }
    if let Some(c) = r.cpu() {
        cpu::v1(c, &mut w)?;
    }
    if let Some(p) = r.pids() {
        pids::plan(p, &mut w);
    }
    if let Some(b) = r.block_io() {
        blkio::v1(b, &mut w)?;
    }
    if let Some(h) = r.hugepage_limits() {
        hugetlb::plan(h, false, &mut w)?;
    }
    if let Some(n) = r.network() {
        network::v1(n, &mut w);
    }
    if let Some(rd) = r.rdma() {
        rdma::plan(rd, &mut w);
    }
    Ok(w)
}

/// The writes for cgroup v2, in order.
pub fn plan_v2(r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
    let mut w = Vec::new();
    if let Some(m) = r.memory() {
        memory::v2(m, &mut w)?;
    }
    if let Some(c) = r.cpu() {
        cpu::v2(c, &mut w)?;
    }
    if let Some(p) = r.pids() {
        pids::plan(p, &mut w);
    }
    if let Some(b) = r.block_io() {
        blkio::v2(b, &mut w)?;
    }
    if let Some(h) = r.hugepage_limits() {
        hugetlb::plan(h, true, &mut w)?;
    }
    if let Some(n) = r.network() {
        network::v2(n, &mut w);
    }
    if let Some(rd) = r.rdma() {
        rdma::plan(rd, &mut w);
    }
    Ok(w)
}

/// The v2 name of a v1 controller, if v2 has one.
fn v2_name(v1: &str) -> Option<&'static str> {
    Some(match v1 {
        "memory" => "memory",
        "cpu" => "cpu",
        "cpuset" => "cpuset",
        "pids" => "pids",
        "blkio" => "io",
        "hugetlb" => "hugetlb",
        "rdma" => "rdma",
        _ => return None,
    })
}

/// Controllers in the order they first appear.
fn controllers_in(writes: &[Write]) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for w in writes {
        if !seen.contains(&w.controller) {
            seen.push(w.controller);
        }
    }
    seen
}

/// Applies everything but devices (see `devices`) to an existing cgroup.
pub fn apply(cg: &Cgroup, r: &LinuxResources) -> Result<(), CgroupError> {
    match cg.mode {
        Mode::Unified => {
            let dir = unified_dir(cg, "linux.resources")?;
            let writes = plan_v2(r)?;
            for c in controllers_in(&writes) {
                let group: Vec<&Write> = writes.iter().filter(|w| w.controller == c).collect();
                refused(&group)?;
                v2::controllers::require(dir, c, &group[0].field)?;
                run(&dir.path, &group)?;
            }
        }
        Mode::Legacy | Mode::Hybrid => {
            let v1 = plan_v1(r)?;
            let mut v2_plan = None;
            for c in controllers_in(&v1) {
                let group: Vec<&Write> = v1.iter().filter(|w| w.controller == c).collect();
                if let Some(dir) = cg.v1_dir(c) {
                    run(dir, &group)?;
                    continue;
                }
                // Hybrid hosts may have a controller only in cgroup2 (hugetlb here).
                let in_unified = match (cg.mode, v2_name(c), &cg.unified) {
                    (Mode::Hybrid, Some(name), Some(u)) => fs::read(&u.mount, "cgroup.controllers")
                        .is_ok_and(|t| v2::controllers::parse_list(&t).iter().any(|x| x == name))
                        .then_some((name, u)),
                    _ => None,
                };
                let Some((name, u)) = in_unified else {
                    return Err(CgroupError(format!(
                        "{}: the host has no {c} cgroup controller",
                        group[0].field
                    )));
                };
                if v2_plan.is_none() {
                    v2_plan = Some(plan_v2(r)?);
                }
                let v2w: Vec<&Write> = v2_plan
                    .iter()
                    .flatten()
                    .filter(|w| w.controller == name)
                    .collect();
                refused(&v2w)?;
                if let Some(first) = v2w.first() {
                    v2::controllers::require(u, name, &first.field)?;
                }
                run(&u.path, &v2w)?;
            }
        }
    }
    if let Some(map) = r.unified() {
        unified::apply(cg, map)?;
    }
    Ok(())
}

fn unified_dir<'a>(cg: &'a Cgroup, field: &str) -> Result<&'a super::UnifiedDir, CgroupError> {
    cg.unified
        .as_ref()
        .ok_or_else(|| CgroupError(format!("{field}: the cgroup has no cgroup v2 directory")))
}

/// The first setting of the group this cgroup version cannot take.
fn refused(group: &[&Write]) -> Result<(), CgroupError> {
    for w in group {
        if let Op::Refuse(why) = &w.op {
            return Err(CgroupError(format!("{}: {why}", w.field)));
        }
    }
    Ok(())
}

/// Runs one controller's writes in `dir`.
fn run(dir: &Path, group: &[&Write]) -> Result<(), CgroupError> {
    let mut i = 0;
    while i < group.len() {
        let w = group[i];
        let (file, value) = match &w.op {
            Op::Refuse(why) => return Err(CgroupError(format!("{}: {why}", w.field))),
            Op::Set { file, value } => (file, value),
        };
        match fs::write(dir, file, value) {
            Ok(()) => {}
            // v1 memory: the limit may not exceed memory+swap; raise that first.
            Err(e) if file == "memory.limit_in_bytes" && e.raw_os_error() == Some(libc::EINVAL) => {
                let swap = group[i + 1..].iter().position(|x| {
                    matches!(&x.op, Op::Set { file, .. } if file == "memory.memsw.limit_in_bytes")
                });
                let Some(j) = swap.map(|j| j + i + 1) else {
                    return Err(write_error(w, dir, file, value, e));
                };
                run(dir, &[group[j]])?;
                fs::write(dir, file, value).map_err(|e| write_error(w, dir, file, value, e))?;
                let rest: Vec<&Write> = group[i + 1..]
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| k + i + 1 != j)
                    .map(|(_, x)| *x)
                    .collect();
                return run(dir, &rest);
            }
            Err(e) => return Err(write_error(w, dir, file, value, e)),
        }
        i += 1;
    }
    Ok(())
}

fn write_error(w: &Write, dir: &Path, file: &str, value: &str, e: io::Error) -> CgroupError {
    let hint = match e.raw_os_error() {
        Some(libc::ENOENT) => format!(" (this kernel's {} controller has no {file})", w.controller),
        Some(libc::EINVAL) => " (the kernel refused the value)".to_string(),
        Some(libc::EBUSY) => {
            " (the kernel says the cgroup is busy, e.g. usage above the new limit)".to_string()
        }
        _ => String::new(),
    };
    CgroupError(format!(
        "{}: writing {value:?} to {}: {e}{hint}",
        w.field,
        dir.join(file).display()
    ))
}

#[cfg(test)]
mod tests;
