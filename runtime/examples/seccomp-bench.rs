//! Seccomp overhead: a syscall-heavy loop without a filter, then under the
//! Docker-shaped profile (compiled by berth), and the ratio. Run through
//! hack/bench-seccomp.sh. Prints numbers; asserts nothing about time.
//! With `COMPILE_ONLY=1` it only compiles the profile 2000 times (for
//! profiling the compiler, e.g. under `perf record`).

use berth::seccomp::Filter;
use oci_spec::runtime::LinuxSeccomp;
use std::time::{Duration, Instant};

const PROFILE: &str = include_str!("../src/seccomp/testdata/docker-like.json");
const CALLS: u32 = 1_000_000;
const ROUNDS: u32 = 5;

/// The fastest of `ROUNDS` runs of `CALLS` cheap syscalls (not vDSO ones),
/// mixing numbers from both ends of the table.
fn syscall_loop() -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS / 4 {
                // SAFETY: these syscalls take no arguments and touch no memory.
                unsafe {
                    libc::syscall(libc::SYS_getppid);
                    libc::syscall(libc::SYS_getuid);
                    libc::syscall(libc::SYS_gettid);
                    libc::syscall(libc::SYS_sched_yield);
                }
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn per_call(d: Duration) -> f64 {
    d.as_nanos() as f64 / f64::from(CALLS)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile: LinuxSeccomp = serde_json::from_str(PROFILE)?;
    if std::env::var_os("COMPILE_ONLY").is_some() {
        for _ in 0..2000 {
            Filter::compile(&profile)?;
        }
        return Ok(());
    }
    let start = Instant::now();
    let filter = Filter::compile(&profile)?;
    let compile_time = start.elapsed();
    let start = Instant::now();
    let _warm = Filter::compile(&profile)?;
    let warm_compile_time = start.elapsed();

    let bare = syscall_loop();
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) only sets a flag on this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    filter.install()?;
    let filtered = syscall_loop();

    println!(
        "profile: docker-like ({} BPF instructions), compiled in {:.1} us (again: {:.1} us)",
        filter.program().len(),
        compile_time.as_secs_f64() * 1e6,
        warm_compile_time.as_secs_f64() * 1e6
    );
    println!("no filter:    {:7.1} ns/syscall", per_call(bare));
    println!("with filter:  {:7.1} ns/syscall", per_call(filtered));
    println!(
        "ratio:        {:7.2}x",
        per_call(filtered) / per_call(bare).max(f64::MIN_POSITIVE)
    );
    Ok(())
}
