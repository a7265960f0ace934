//! Real tests: a child (this test binary, re-executed) applies a `process`
//! with the real syscalls, execs itself once more, and the new program
//! reports what it got; the parent test asserts on that report. Nothing
//! here forks inside the threaded test harness.

use super::*;
use oci_spec::runtime::{
    Capabilities, Capability, IOPriorityClass, LinuxCapabilitiesBuilder, LinuxIOPriorityBuilder,
    LinuxPersonality, LinuxPersonalityBuilder, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, SchedulerBuilder,
    UserBuilder,
};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

const MODE: &str = "BERTH_PROCESS_TEST_MODE";
const PROCESS: &str = "BERTH_PROCESS_TEST_PROCESS";
const PERSONALITY: &str = "BERTH_PROCESS_TEST_PERSONALITY";

/// The libtest filter naming `entry` in this module.
fn test_name(entry: &str) -> String {
    let module = module_path!();
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{module}::{entry}")
}

fn harness_args(entry: &str) -> Vec<String> {
    [
        "--exact",
        &test_name(entry),
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Child side, step 1: apply `process` the way init does, then exec the
/// observer. Runs only when re-executed by [`run_child`].
#[test]
#[ignore = "entry point for re-executed children of the real tests in this module"]
fn child_apply() {
    let Ok(json) = std::env::var(PROCESS) else {
        return;
    };
    let process: Process = serde_json::from_str(&json).expect("process JSON from parent");
    let personality: Option<LinuxPersonality> = std::env::var(PERSONALITY)
        .ok()
        .map(|j| serde_json::from_str(&j).expect("personality JSON from parent"));
    let result = apply_privileged(&process)
        .and_then(|()| personality.as_ref().map_or(Ok(()), personality::apply))
        .and_then(|()| switch_user(&process));
    if let Err(e) = result {
        println!("ERR {e}");
        std::process::exit(3);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let err = Command::new(exe)
        .args(harness_args("child_observe"))
        .env(MODE, "observe")
        .env_remove(PROCESS)
        .exec();
    println!("ERR exec observer: {err}");
    std::process::exit(4);
}

/// Child side, step 2: report what the exec'd program holds.
#[test]
#[ignore = "entry point for re-executed children of the real tests in this module"]
fn child_observe() {
    if std::env::var(MODE).as_deref() != Ok("observe") {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    for line in status.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.starts_with("Cap") || ["Uid", "Gid", "Groups", "NoNewPrivs"].contains(&k) {
                println!(
                    "OBS {k}={}",
                    v.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
        }
    }
    let (soft, hard) = rlimits::current(PosixRlimitType::RlimitNofile).expect("getrlimit");
    println!("OBS nofile={soft}/{hard}");
    // SAFETY: umask cannot fail; the old value is put back at once.
    let mask = unsafe { libc::umask(0) };
    // SAFETY: as above.
    unsafe { libc::umask(mask) };
    println!("OBS umask={mask:04o}");
    let pid = std::process::id() as libc::pid_t;
    let s = scheduler::get(pid).expect("sched_getattr");
    println!("OBS sched={}", s.sched_policy);
    println!("OBS nice={}", s.sched_nice);
    println!("OBS sched_priority={}", s.sched_priority);
    println!("OBS sched_flags={:#x}", s.sched_flags);
    println!(
        "OBS deadline={}/{}/{}",
        s.sched_runtime, s.sched_deadline, s.sched_period
    );
    println!("OBS ioprio={}", iopriority::get(pid).expect("ioprio_get"));
    println!("OBS personality={:#x}", personality::get() & 0xff);
    let oom = std::fs::read_to_string("/proc/self/oom_score_adj").expect("oom_score_adj");
    println!("OBS oom_score_adj={}", oom.trim());
}

/// What a child reported.
#[derive(Debug)]
struct Report {
    obs: HashMap<String, String>,
    err: Option<String>,
    ok: bool,
}

impl Report {
    fn get(&self, key: &str) -> &str {
        self.obs
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("child did not report {key}: {self:?}"))
    }
}

/// Runs [`child_apply`] with `process`, optionally under a wrapper command
/// (such as `unshare -r`), and collects its report.
fn run_child(
    process: &Process,
    personality: Option<&LinuxPersonality>,
    wrapper: &[&str],
) -> Report {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(harness_args("child_apply"))
        .env(MODE, "apply")
        .env(
            PROCESS,
            serde_json::to_string(process).expect("serialize process"),
        )
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(p) = personality {
        cmd.env(
            PERSONALITY,
            serde_json::to_string(p).expect("serialize personality"),
        );
    }
    let out = cmd.output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut obs = HashMap::new();
    let mut err = None;
    // libtest prints "test <name> ... " before the entry's first line.
    let after = |line: &str, tag: &str| line.find(tag).map(|i| line[i + tag.len()..].to_string());
    for line in stdout.lines() {
        if let Some(kv) = after(line, "OBS ") {
            if let Some((k, v)) = kv.split_once('=') {
                obs.insert(k.to_string(), v.to_string());
            }
        } else if let Some(e) = after(line, "ERR ") {
            err = Some(e);
        }
    }
    Report {
        obs,
        err,
        ok: out.status.success(),
    }
}

fn caps(list: &[Capability]) -> Capabilities {
    list.iter().copied().collect()
}

/// All five sets, each given explicitly (the builder's defaults are not
/// empty).
fn cap_sets(
    bounding: &[Capability],
    permitted: &[Capability],
    effective: &[Capability],
    inheritable: &[Capability],
    ambient: &[Capability],
) -> oci_spec::runtime::LinuxCapabilities {
    LinuxCapabilitiesBuilder::default()
        .bounding(caps(bounding))
        .permitted(caps(permitted))
        .effective(caps(effective))
        .inheritable(caps(inheritable))
        .ambient(caps(ambient))
        .build()
        .unwrap()
}

fn user(uid: u32, gid: u32, groups: Vec<u32>, umask: Option<u32>) -> oci_spec::runtime::User {
    let mut b = UserBuilder::default()
        .uid(uid)
        .gid(gid)
        .additional_gids(groups);
    if let Some(m) = umask {
        b = b.umask(m);
    }
    b.build().expect("user")
}

fn capability_mask(list: &[Capability]) -> String {
    let m = list
        .iter()
        .fold(0u64, |m, c| m | (1 << capabilities::number(*c)));
    format!("{m:016x}")
}

#[test]
fn non_root_user_keeps_ambient_capabilities_across_exec() {
    use Capability::*;
    let process = ProcessBuilder::default()
        .user(user(1000, 1000, vec![5, 6], Some(0o027)))
        .capabilities(cap_sets(
            &[Chown, Kill, NetBindService, NetRaw],
            &[Kill, NetBindService, NetRaw],
            &[Kill, NetBindService],
            &[Kill, NetBindService],
            &[NetBindService],
        ))
        .no_new_privileges(true)
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("Uid"), "1000 1000 1000 1000");
    assert_eq!(r.get("Gid"), "1000 1000 1000 1000");
    assert_eq!(r.get("Groups"), "5 6");
    assert_eq!(
        r.get("CapBnd"),
        capability_mask(&[Chown, Kill, NetBindService, NetRaw])
    );
    assert_eq!(r.get("CapInh"), capability_mask(&[Kill, NetBindService]));
    // A non-root program without file capabilities keeps only the ambient set.
    assert_eq!(r.get("CapAmb"), capability_mask(&[NetBindService]));
    assert_eq!(r.get("CapPrm"), capability_mask(&[NetBindService]));
    assert_eq!(r.get("CapEff"), capability_mask(&[NetBindService]));
    assert_eq!(r.get("NoNewPrivs"), "1");
    assert_eq!(r.get("umask"), "0027");
}

#[test]
fn root_user_gets_the_bounding_set_and_default_umask() {
    use Capability::*;
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .capabilities(cap_sets(&[Kill, Chown], &[Kill], &[Kill], &[], &[]))
        .no_new_privileges(false)
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("Uid"), "0 0 0 0");
    assert_eq!(r.get("Groups"), "");
    assert_eq!(r.get("CapBnd"), capability_mask(&[Kill, Chown]));
    // execve as uid 0 grants root the whole bounding set.
    assert_eq!(r.get("CapEff"), capability_mask(&[Kill, Chown]));
    assert_eq!(r.get("CapAmb"), capability_mask(&[]));
    assert_eq!(r.get("NoNewPrivs"), "0");
    assert_eq!(r.get("umask"), "0022");
}

fn nofile(soft: u64, hard: u64) -> oci_spec::runtime::PosixRlimit {
    rlimit(PosixRlimitType::RlimitNofile, soft, hard)
}

fn rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> oci_spec::runtime::PosixRlimit {
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .unwrap()
}

#[test]
fn rlimits_scheduler_io_priority_oom_and_personality_apply() {
    let (_, hard) = rlimits::current(PosixRlimitType::RlimitNofile).unwrap();
    let want_hard = hard.min(2000);
    let mut process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .rlimits(vec![nofile(want_hard / 2, want_hard)])
        .scheduler(
            SchedulerBuilder::default()
                .policy(LinuxSchedulerPolicy::SchedBatch)
                .nice(7)
                .build()
                .unwrap(),
        )
        .io_priority(
            LinuxIOPriorityBuilder::default()
                .class(IOPriorityClass::IoprioClassBe)
                .priority(6)
                .build()
                .unwrap(),
        )
        .oom_score_adj(321)
        .build()
        .unwrap();
    process.set_capabilities(None);
    let personality = LinuxPersonalityBuilder::default()
        .domain(LinuxPersonalityDomain::PerLinux32)
        .build()
        .unwrap();
    let r = run_child(&process, Some(&personality), &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("nofile"), format!("{}/{want_hard}", want_hard / 2));
    assert_eq!((r.get("sched"), r.get("nice")), ("3", "7"));
    assert_eq!(r.get("ioprio"), ((2 << 13) | 6).to_string());
    assert_eq!(r.get("oom_score_adj"), "321");
    assert_eq!(r.get("personality"), "0x8");
    // No capabilities object: the program runs with none.
    assert_eq!(r.get("CapEff"), "0000000000000000");
}

#[test]
fn idle_scheduler_and_idle_io_class_apply() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .scheduler(
            SchedulerBuilder::default()
                .policy(LinuxSchedulerPolicy::SchedIdle)
                .build()
                .unwrap(),
        )
        .io_priority(
            LinuxIOPriorityBuilder::default()
                .class(IOPriorityClass::IoprioClassIdle)
                .priority(0)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("sched"), "5");
    assert_eq!(r.get("ioprio"), (3 << 13).to_string());
}

#[test]
fn fifo_scheduler_with_priority_applies() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .scheduler(
            SchedulerBuilder::default()
                .policy(LinuxSchedulerPolicy::SchedFifo)
                .priority(1)
                // Threads the observer spawns stay normal.
                .flags(vec![LinuxSchedulerFlag::SchedResetOnFork])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("sched"), "1");
    assert_eq!(r.get("sched_priority"), "1");
    assert_eq!(r.get("sched_flags"), "0x1");
}

#[test]
fn deadline_scheduler_applies_runtime_deadline_and_period() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .scheduler(
            SchedulerBuilder::default()
                .policy(LinuxSchedulerPolicy::SchedDeadline)
                .runtime(10_000_000u64)
                .deadline(30_000_000u64)
                .period(100_000_000u64)
                // A SCHED_DEADLINE task may only fork with this flag.
                .flags(vec![LinuxSchedulerFlag::SchedResetOnFork])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("sched"), "6");
    assert_eq!(r.get("deadline"), "10000000/30000000/100000000");
}

#[test]
fn raising_a_hard_rlimit_names_the_rlimit_and_values() {
    let (_, hard) = rlimits::current(PosixRlimitType::RlimitNofile).unwrap();
    let (_, nproc) = rlimits::current(PosixRlimitType::RlimitNproc).unwrap();
    let nproc = nproc.min(4096);
    let privileged = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap();
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .rlimits(vec![
            rlimit(PosixRlimitType::RlimitCore, 0, 0),
            rlimit(PosixRlimitType::RlimitNproc, nproc, nproc),
            nofile(64, hard + 1),
        ])
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    if privileged {
        assert!(r.ok, "{r:?}");
        return;
    }
    assert!(!r.ok);
    assert_eq!(
        r.err.as_deref(),
        Some(
            format!(
                "process.rlimits[2]: setrlimit RLIMIT_NOFILE 64/{}: Operation not permitted \
                 (the hard limit is {hard}; raising it needs CAP_SYS_RESOURCE)",
                hard + 1
            )
            .as_str()
        )
    );
}

#[test]
fn root_in_a_user_namespace_switches_with_setgroups_denied() {
    use Capability::*;
    // `unshare -r` maps root to root and writes "deny" to setgroups.
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], Some(0o077)))
        .capabilities(cap_sets(&[Kill, SysAdmin], &[Kill], &[Kill], &[], &[]))
        .no_new_privileges(true)
        .build()
        .unwrap();
    let r = run_child(&process, None, &["unshare", "-r"]);
    assert!(r.ok && r.err.is_none(), "{r:?}");
    assert_eq!(r.get("Uid"), "0 0 0 0");
    assert_eq!(r.get("CapBnd"), capability_mask(&[Kill, SysAdmin]));
    // no_new_privs keeps root from gaining the bounding set at exec.
    assert_eq!(r.get("CapEff"), capability_mask(&[Kill]));
    assert_eq!(r.get("NoNewPrivs"), "1");
    assert_eq!(r.get("umask"), "0077");
}

#[test]
fn additional_gids_fail_clearly_when_the_user_namespace_denies_setgroups() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![0], None))
        .build()
        .unwrap();
    let r = run_child(&process, None, &["unshare", "-r"]);
    assert!(!r.ok);
    assert_eq!(
        r.err.as_deref(),
        Some(
            "process.user.additionalGids [0]: setgroups is denied in this user namespace \
             (/proc/self/setgroups is \"deny\")"
        )
    );
}

#[test]
fn unmapped_uid_in_a_user_namespace_is_named() {
    let process = ProcessBuilder::default()
        .user(user(1000, 0, vec![], None))
        .build()
        .unwrap();
    let r = run_child(&process, None, &["unshare", "-r"]);
    assert!(!r.ok);
    assert_eq!(
        r.err.as_deref(),
        Some(
            "process.user.uid 1000: setresuid: Invalid argument \
             (is it mapped in linux.uidMappings?)"
        )
    );
}

#[test]
fn apparmor_profile_fails_clearly_without_apparmor() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .apparmor_profile("berth-test-no-such-profile")
        .build()
        .unwrap();
    let r = run_child(&process, None, &[]);
    assert!(!r.ok, "{r:?}");
    let err = r.err.unwrap_or_default();
    if lsm::apparmor_enabled() == Some(true) {
        assert!(
            err.starts_with("process.apparmorProfile \"berth-test-no-such-profile\": write "),
            "{err}"
        );
    } else {
        assert_eq!(
            err,
            "process.apparmorProfile \"berth-test-no-such-profile\" is set but AppArmor is not \
             enabled on this host"
        );
    }
}

#[test]
fn selinux_label_fails_clearly_without_selinux() {
    let process = ProcessBuilder::default()
        .user(user(0, 0, vec![], None))
        .selinux_label("system_u:system_r:container_t:s0")
        .build()
        .unwrap();
    if lsm::selinux_enabled() == Some(true) {
        return; // a real label would apply; this test proves the absent case
    }
    let r = run_child(&process, None, &[]);
    assert!(!r.ok, "{r:?}");
    assert_eq!(
        r.err.as_deref(),
        Some(
            "process.selinuxLabel \"system_u:system_r:container_t:s0\" is set but SELinux is \
             not enabled on this host"
        )
    );
}

#[test]
fn find_executable_uses_the_path_from_process_env() {
    let process = ProcessBuilder::default()
        .args(vec!["busybox".to_string()])
        .env(vec!["PATH=/nonexistent:/bin".to_string()])
        .build()
        .unwrap();
    assert_eq!(
        find_executable(&process).unwrap(),
        PathBuf::from("/bin/busybox")
    );
    let process = ProcessBuilder::default()
        .args(vec!["busybox".to_string()])
        .env(vec!["PATH=/nonexistent".to_string()])
        .build()
        .unwrap();
    assert_eq!(
        find_executable(&process).unwrap_err().to_string(),
        "exec: \"busybox\": executable file not found in $PATH"
    );
}
