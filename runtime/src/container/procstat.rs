//! What /proc/<pid>/stat says about a process: alive, exiting, a zombie,
//! and its start time (which tells a reused pid from ours).

/// The fields of /proc/<pid>/stat berth needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// One-letter state (R, S, D, Z, X, T...).
    pub state: char,
    /// The task's flags (PF_*).
    pub flags: u64,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
}

/// PF_EXITING: the task is in do_exit (its files may already be closed).
const PF_EXITING: u64 = 0x4;

impl ProcStat {
    /// Reads /proc/<pid>/stat; `None` when there is no such process.
    pub fn read(pid: i32) -> Option<ProcStat> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse(&s)
    }

    /// True when the process has finished or is finishing: a zombie, dead,
    /// or inside exit (a manager that saw its stdout close must not be told
    /// it is still running).
    pub fn is_exiting(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x') || self.flags & PF_EXITING != 0
    }
}

/// Parses the text of /proc/<pid>/stat.
pub fn parse(s: &str) -> Option<ProcStat> {
    // comm may hold spaces and ')', so split after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); flags is field 9, starttime field 22.
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        flags: f.get(6)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comm_with_parens() {
        let s = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        let p = parse(s).unwrap();
        assert_eq!(p.state, 'S');
        assert_eq!(p.flags, 4194560);
        assert_eq!(p.start_time, 12345);
        assert!(!p.is_exiting());
    }

    #[test]
    fn own_process_is_alive() {
        let p = ProcStat::read(std::process::id() as i32).unwrap();
        assert!(!p.is_exiting());
    }
}
