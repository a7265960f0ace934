//! `process.execCPUAffinity` (runtime-spec 1.2): the CPUs an `exec`'d
//! process runs on before (`initial`) and after (`final`) it joins the
//! container's cgroup.

use super::{cpulist, ProcessError};
use oci_spec::runtime::Process;

/// Which of the two affinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before joining the cgroup.
    Initial,
    /// After joining, right before execve.
    Final,
}

/// Applies the affinity for `stage`, if the process asks for one.
pub fn apply(process: &Process, stage: Stage) -> Result<(), ProcessError> {
    let Some(a) = process.exec_cpu_affinity() else {
        return Ok(());
    };
    let (field, list) = match stage {
        Stage::Initial => ("process.execCPUAffinity.initial", a.initial()),
        Stage::Final => ("process.execCPUAffinity.final", a.cpu_affinity_final()),
    };
    let Some(list) = list.as_deref().filter(|l| !l.is_empty()) else {
        return Ok(());
    };
    let cpus = cpulist::parse(field, list)?;
    let mut set = nix::sched::CpuSet::new();
    for c in cpus {
        set.set(c)
            .map_err(|e| ProcessError(format!("{field} \"{list}\": cpu {c}: {e}")))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| ProcessError(format!("{field} \"{list}\": sched_setaffinity: {e}")))
}
