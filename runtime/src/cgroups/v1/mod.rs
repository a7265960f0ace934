//! cgroup v1: one directory per hierarchy, a file per knob.

pub mod cpuset;
