//! Starting a container's init: fork a stage-1 child that joins and creates
//! the namespaces, which forks init (PID 1 of a new pid namespace) and exits.
//! Parent and children follow the typed protocol in `sync`.

pub mod namespaces;
pub mod sync;

use crate::cgroups::Cgroup;
use crate::exec::ExecContext;
use crate::init::InitContext;
use crate::sys::clone::Forked;
use namespaces::Plan;
use nix::unistd::{fork, ForkResult, Pid};
use oci_spec::runtime::{LinuxIdMapping, Spec};
use std::os::fd::AsFd;
use std::os::fd::{AsRawFd, OwnedFd};
use sync::{Channel, Msg};

/// What the process forked into the namespaces becomes.
pub enum Child {
    /// A new container's init.
    Init(Box<InitContext>),
    /// A process joining a live container (`berth exec`); the pid is the
    /// container's init, whose namespaces it joins.
    Exec(Box<ExecContext>, i32),
}

impl Child {
    fn spec(&self) -> &Spec {
        match self {
            Child::Init(c) => &c.spec,
            Child::Exec(c, _) => &c.spec,
        }
    }

    fn fds_to_keep(&self) -> Vec<i32> {
        match self {
            Child::Init(c) => c.fds_to_keep(),
            Child::Exec(c, _) => c.fds_to_keep(),
        }
    }

    fn plan(&self) -> Plan {
        match self {
            Child::Init(c) => namespaces::plan(&c.spec),
            Child::Exec(c, pid) => namespaces::plan_join(&c.spec, *pid),
        }
    }

    fn run(self, ch: Channel) -> ! {
        match self {
            Child::Init(c) => crate::init::run(ch, *c),
            Child::Exec(c, _) => crate::exec::run(ch, *c),
        }
    }
}

/// Why the launch failed; `init_pid` is set when init existed (it has been
/// sent SIGKILL).
#[derive(Debug)]
pub struct LaunchError {
    /// What went wrong.
    pub msg: String,
    /// Init's pid, if it got that far.
    pub init_pid: Option<i32>,
}

/// Forks the container's init and drives it to `Ready`. `run_hooks` runs the
/// prestart and createRuntime hooks given init's pid, and returns the state
/// JSON init uses for its own hooks.
pub fn launch(
    ctx: Child,
    cgroup: Option<&Cgroup>,
    mut run_hooks: impl FnMut(i32) -> Result<String, String>,
) -> Result<i32, LaunchError> {
    let plan = ctx.plan();
    let maps = IdMaps::of(ctx.spec());
    let fail = |msg: String| LaunchError {
        msg,
        init_pid: None,
    };
    let (parent_ch, child_ch) = Channel::pair().map_err(|e| fail(format!("socketpair: {e}")))?;
    // On a pure cgroup v2 host stage 1 is born in the container's cgroup.
    let cgroup_dir = cgroup.and_then(Cgroup::clone_into_dir);
    // SAFETY: berth is single-threaded here, so the child may run ordinary
    // code (allocation included) after fork.
    let forked = unsafe { crate::sys::clone::fork_into(cgroup_dir.as_ref().map(|d| d.as_fd())) }
        .map_err(|e| fail(format!("fork: {e}")))?;
    drop(cgroup_dir);
    match forked {
        Forked::Child => {
            drop(parent_ch);
            stage1(child_ch, ctx, plan)
        }
        Forked::Parent { pid, placed } => {
            drop(child_ch);
            drop(ctx);
            let child = Pid::from_raw(pid);
            if placed {
                crate::logging::debug(
                    "stage 1 was cloned straight into its cgroup (CLONE_INTO_CGROUP)",
                );
            }
            let cgroup = cgroup.filter(|_| !placed);
            let mut init_pid = None;
            let r = drive(
                &parent_ch,
                child,
                &plan,
                &maps,
                cgroup,
                &mut init_pid,
                &mut run_hooks,
            );
            // Closing our end tells a stage 1 still waiting for `Go` (after a
            // failure here) to give up; it exits once it has forked init.
            drop(parent_ch);
            let _ = nix::sys::wait::waitpid(child, None);
            r.map_err(|msg| {
                if let Some(pid) = init_pid {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
                }
                LaunchError { msg, init_pid }
            })
        }
    }
}

/// The parent's side of the protocol.
fn drive(
    ch: &Channel,
    stage1: Pid,
    plan: &Plan,
    maps: &IdMaps,
    cgroup: Option<&Cgroup>,
    init_pid: &mut Option<i32>,
    run_hooks: &mut impl FnMut(i32) -> Result<String, String>,
) -> Result<i32, String> {
    let recv = || match ch.recv() {
        Ok(Some(Msg::Error(e))) => Err(e),
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err("container init exited during setup".to_string()),
        Err(e) => Err(format!("sync with container init: {e}")),
    };
    let send = |m: &Msg| {
        ch.send(m)
            .map_err(|e| format!("sync with container init: {e}"))
    };
    expect(recv()?, Msg::Stage1Ready)?;
    if let Some(cg) = cgroup {
        cg.add_process(stage1.as_raw()).map_err(|e| e.to_string())?;
    }
    if plan.new_user {
        maps.write(stage1.as_raw())?;
    }
    send(&Msg::Go)?;
    // Stage 1 reports init's pid, and init starts talking at once: the two
    // messages share the socket and may arrive in either order.
    let mut pid = None;
    let mut hooks_pending = false;
    let mut ready = false;
    loop {
        match recv()? {
            Msg::InitPid(p) => {
                pid = Some(p);
                *init_pid = Some(p);
            }
            Msg::RunCreateRuntimeHooks => hooks_pending = true,
            Msg::Ready => ready = true,
            m => return Err(format!("sync with container init: unexpected {m:?}")),
        }
        if let (Some(p), true) = (pid, hooks_pending) {
            hooks_pending = false;
            let state = run_hooks(p)?;
            send(&Msg::HooksDone(state))?;
        }
        if let (Some(p), true) = (pid, ready) {
            return Ok(p);
        }
    }
}

fn expect(got: Msg, want: Msg) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "sync with container init: expected {want:?}, got {got:?}"
        ))
    }
}

/// The user namespace's id maps, taken from the config before fork.
struct IdMaps {
    uids: Vec<LinuxIdMapping>,
    gids: Vec<LinuxIdMapping>,
}

impl IdMaps {
    fn of(spec: &Spec) -> IdMaps {
        let l = spec.linux().as_ref();
        IdMaps {
            uids: l.and_then(|l| l.uid_mappings().clone()).unwrap_or_default(),
            gids: l.and_then(|l| l.gid_mappings().clone()).unwrap_or_default(),
        }
    }

    /// Writes uid_map and gid_map of process `pid`.
    fn write(&self, pid: i32) -> Result<(), String> {
        write_map(pid, "uid_map", &self.uids)?;
        write_map(pid, "gid_map", &self.gids)
    }
}

fn write_map(pid: i32, file: &str, maps: &[LinuxIdMapping]) -> Result<(), String> {
    if maps.is_empty() {
        return Ok(());
    }
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| {
        let field = if file == "uid_map" {
            "linux.uidMappings"
        } else {
            "linux.gidMappings"
        };
        format!("{field}: write {path}: {e}")
    })
}

/// Stage 1: joins and creates namespaces, forks init, reports its pid, exits.
fn stage1(ch: Channel, ctx: Child, plan: Plan) -> ! {
    let r = stage1_inner(&ch, ctx, &plan);
    if let Err(e) = r {
        let _ = ch.send(&Msg::Error(e));
        // SAFETY: _exit ends this forked child without running destructors.
        unsafe { libc::_exit(1) }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

fn stage1_inner(ch: &Channel, ctx: Child, plan: &Plan) -> Result<(), String> {
    let mut keep = ctx.fds_to_keep();
    keep.push(ch.raw_fd());
    crate::sys::fd::close_all_except(&keep).map_err(|e| format!("close descriptors: {e}"))?;

    // Open every namespace first: after joining a mount namespace the
    // remaining paths would resolve in it.
    let mut joins: Vec<(libc::c_int, OwnedFd, String)> = Vec::new();
    for (t, path) in &plan.join {
        let fd = nix::fcntl::open(
            path.as_path(),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| format!("linux.namespaces {t} path \"{}\": {e}", path.display()))?;
        joins.push((
            namespaces::flag(*t),
            fd,
            format!("{t} \"{}\"", path.display()),
        ));
    }
    for (flag, fd, what) in &joins {
        // SAFETY: setns on an fd we opened; it changes only this process.
        if unsafe { libc::setns(fd.as_raw_fd(), *flag) } < 0 {
            return Err(format!(
                "join namespace {what}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    drop(joins);
    if let Child::Exec(c, _) = &ctx {
        use crate::process::affinity::{apply, Stage};
        apply(&c.process, Stage::Initial).map_err(|e| e.to_string())?;
    }
    if plan.new_user {
        unshare(libc::CLONE_NEWUSER).map_err(|e| format!("create user namespace: {e}"))?;
    }
    ch.send(&Msg::Stage1Ready)
        .map_err(|e| format!("sync with berth: {e}"))?;
    match ch.recv() {
        Ok(Some(Msg::Go)) => {}
        _ => return Err("sync with berth: no go-ahead".into()),
    }
    if plan.new_user {
        become_root_in_userns()?;
    }
    if plan.new_flags != 0 {
        unshare(plan.new_flags).map_err(|e| format!("create namespaces: {e}"))?;
    }
    if plan.new_flags & namespaces::CLONE_NEWTIME != 0 {
        write_time_offsets(ctx.spec())?;
    }
    // SAFETY: single-threaded; the child runs init, which execs or _exits.
    match unsafe { fork() }.map_err(|e| format!("fork init: {e}"))? {
        ForkResult::Child => ctx.run(ch.try_clone_for_init()),
        ForkResult::Parent { child } => {
            ch.send(&Msg::InitPid(child.as_raw()))
                .map_err(|e| format!("sync with berth: {e}"))?;
            Ok(())
        }
    }
}

fn unshare(flags: libc::c_int) -> std::io::Result<()> {
    // SAFETY: unshare takes flags only and affects this process.
    if unsafe { libc::unshare(flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// After the maps are written, take uid/gid 0 of the new user namespace.
fn become_root_in_userns() -> Result<(), String> {
    // SAFETY: plain id syscalls.
    if unsafe { libc::setresgid(0, 0, 0) } < 0 {
        return Err(format!(
            "user namespace: setresgid 0 (is gid 0 mapped?): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(0, 0, 0) } < 0 {
        return Err(format!(
            "user namespace: setresuid 0 (is uid 0 mapped?): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// `linux.timeOffsets`, written before any process enters the time namespace.
fn write_time_offsets(spec: &Spec) -> Result<(), String> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", text)
        .map_err(|e| format!("linux.timeOffsets: write /proc/self/timens_offsets: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `msgs` to `drive` as if from stage 1 and init (whose end then
    /// stays open, or closes when `hang_up`); returns drive's result and
    /// the pids the hooks were run with.
    fn drive_with(msgs: &[Msg], hang_up: bool) -> (Result<i32, String>, Vec<i32>) {
        let (parent, child) = Channel::pair().unwrap();
        for m in msgs {
            child.send(m).unwrap();
        }
        let _child = (!hang_up).then_some(child);
        let maps = IdMaps {
            uids: vec![],
            gids: vec![],
        };
        let mut hooked = Vec::new();
        let mut init_pid = None;
        let r = drive(
            &parent,
            Pid::from_raw(1),
            &Plan::default(),
            &maps,
            None,
            &mut init_pid,
            &mut |p| {
                hooked.push(p);
                Ok("{}".into())
            },
        );
        (r, hooked)
    }

    #[test]
    fn init_and_stage1_messages_may_arrive_in_any_order() {
        use Msg::*;
        for order in [
            vec![Stage1Ready, InitPid(5), RunCreateRuntimeHooks, Ready],
            vec![Stage1Ready, RunCreateRuntimeHooks, InitPid(5), Ready],
            vec![Stage1Ready, Ready, InitPid(5)],
            vec![Stage1Ready, InitPid(5), Ready],
        ] {
            let hooks = order.contains(&RunCreateRuntimeHooks);
            let (r, hooked) = drive_with(&order, false);
            assert_eq!(r, Ok(5), "{order:?}");
            assert_eq!(hooked, if hooks { vec![5] } else { vec![] }, "{order:?}");
        }
    }

    #[test]
    fn an_error_from_the_child_is_the_error() {
        let (r, _) = drive_with(
            &[Msg::Stage1Ready, Msg::Error("mounts[2]: boom".into())],
            false,
        );
        assert_eq!(r, Err("mounts[2]: boom".into()));
        // A child that vanished: an error, never a hang.
        let (r, _) = drive_with(&[Msg::Stage1Ready], true);
        assert!(r.unwrap_err().starts_with("sync with container init"));
    }
}
