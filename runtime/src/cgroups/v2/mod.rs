//! cgroup v2: one directory; controllers enabled from the parents.

pub mod controllers;
