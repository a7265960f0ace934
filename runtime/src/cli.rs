//! The command line: runc's verbs and flags, so managers call berth unchanged.

use crate::container::{self, CreateOptions, ListFormat};
use crate::logging::{self, LogFormat};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// berth: an OCI container runtime.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.3.0"),
    about = "berth: a low-level OCI container runtime (runc's command line)"
)]
pub struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/berth")]
    root: PathBuf,
    /// Log file (errors also go to stderr).
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format.
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Debug logging.
    #[arg(long, global = true)]
    debug: bool,
    /// Manage cgroups through systemd (not built yet: a clear error).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Rootless mode (true|false|auto; only false is built yet).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container's process.
    Start {
        /// Container id.
        id: String,
    },
    /// Print a container's state as JSON.
    State {
        /// Container id.
        id: String,
    },
    /// Send a signal to a container's init (default SIGTERM).
    Kill {
        /// Container id.
        id: String,
        /// Signal name (TERM, SIGTERM) or number.
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Signal every process in the container.
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a stopped container (--force: kill it first).
    Delete {
        /// Container id.
        id: String,
        /// Kill a running container first.
        #[arg(short, long)]
        force: bool,
    },
    /// List containers.
    List {
        /// table or json.
        #[arg(short, long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Only ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json.
    Spec {
        /// Directory to write it in.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
    /// Freeze every process of a container.
    Pause {
        /// Container id.
        id: String,
    },
    /// Thaw a paused container.
    Resume {
        /// Container id.
        id: String,
    },
    /// List a container's processes.
    Ps {
        /// Container id.
        id: String,
        /// table or json.
        #[arg(short, long, value_enum, default_value = "table")]
        format: container::PsFormat,
        /// Arguments for ps(1) (after --).
        #[arg(last = true)]
        ps_args: Vec<String>,
    },
    /// Resource usage (--stats: once) and OOM events.
    Events {
        /// Container id.
        id: String,
        /// Print one stats object and exit.
        #[arg(long)]
        stats: bool,
        /// Time between stats (5s, 500ms).
        #[arg(long, default_value = "5s")]
        interval: String,
    },
    /// Change a container's resources.
    Update(Box<UpdateArgs>),
    /// Print the runtime-spec features berth supports (JSON).
    Features,
    /// Run a new process inside a running container.
    Exec(Box<ExecArgs>),
    /// Create and start a container, wait for it, exit with its status.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return after start instead of waiting.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// Container id.
    id: String,
    /// A JSON file of linux.resources (`-`: stdin).
    #[arg(short, long)]
    resources: Option<String>,
    /// Memory limit (e.g. 128m).
    #[arg(long)]
    memory: Option<String>,
    /// Memory + swap limit (-1: unlimited).
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    cpu_shares: Option<u64>,
    /// CPU CFS quota in microseconds.
    #[arg(long = "cpu-quota")]
    cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds.
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    /// Realtime runtime in microseconds.
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    /// Realtime period in microseconds.
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    /// CPUs allowed (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// Maximum number of tasks.
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    /// Block IO weight (10-1000).
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
}

impl UpdateArgs {
    fn flags(&self) -> container::UpdateFlags {
        container::UpdateFlags {
            resources: self.resources.clone(),
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            memory_reservation: self.memory_reservation.clone(),
            cpu_shares: self.cpu_shares,
            cpu_quota: self.cpu_quota,
            cpu_period: self.cpu_period,
            cpu_rt_runtime: self.cpu_rt_runtime,
            cpu_rt_period: self.cpu_rt_period,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
        }
    }
}

#[derive(Debug, Args)]
struct ExecArgs {
    /// Container id.
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// A process.json to run instead of the command.
    #[arg(short, long)]
    process: Option<PathBuf>,
    /// Allocate a pty (needs --console-socket).
    #[arg(short, long)]
    tty: bool,
    /// Unix socket to send the pty master to.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Return once the process has started.
    #[arg(short, long)]
    detach: bool,
    /// File to write the process's pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Environment variable NAME=value (repeatable).
    #[arg(short, long)]
    env: Vec<String>,
    /// Working directory in the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// uid[:gid] to run as.
    #[arg(short, long)]
    user: Option<String>,
    /// Additional gid (repeatable).
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    /// Add a capability (repeatable).
    #[arg(short, long)]
    cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// AppArmor profile.
    #[arg(long)]
    apparmor: Option<String>,
    /// SELinux label.
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// Pass fds 3..3+N to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: i32,
    /// Sub-cgroup of the container's to run in: PATH or CONTROLLER:PATH (repeatable).
    #[arg(long)]
    cgroup: Vec<String>,
}

impl ExecArgs {
    fn options(&self) -> container::ExecOptions {
        container::ExecOptions {
            id: self.id.clone(),
            flags: container::ExecFlags {
                process_file: self.process.clone(),
                args: self.command.clone(),
                tty: self.tty,
                env: self.env.clone(),
                cwd: self.cwd.clone(),
                user: self.user.clone(),
                additional_gids: self.additional_gids.clone(),
                caps: self.cap.clone(),
                no_new_privs: self.no_new_privs,
                apparmor: self.apparmor.clone(),
                process_label: self.process_label.clone(),
            },
            console_socket: self.console_socket.clone(),
            detach: self.detach,
            pid_file: self.pid_file.clone(),
            preserve_fds: self.preserve_fds.max(0),
            cgroup: self.cgroup.clone(),
        }
    }
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Container id.
    id: String,
    /// Bundle directory.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket to send the pty master to.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// File to write init's pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// MS_MOVE + chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Keep the caller's session keyring.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass fds 3..3+N to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: i32,
}

impl CreateArgs {
    fn options(&self) -> CreateOptions {
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            }
        };
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.as_deref().map(abs),
            pid_file: self.pid_file.as_deref().map(abs),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds.max(0),
        }
    }
}

/// Runs berth with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("berth: {e}");
        return 1;
    }
    match dispatch(&cli) {
        Ok(code) => code,
        Err(msg) => {
            logging::error(&msg);
            1
        }
    }
}

/// Writes a verb's output. A reader that went away (`berth features | head`)
/// is not an error worth a panic: the output simply ends there.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
}

fn dispatch(cli: &Cli) -> Result<i32, String> {
    if cli.systemd_cgroup {
        return Err("--systemd-cgroup: the systemd cgroup driver is not built yet; use cgroupfs (omit the flag)".into());
    }
    if let Some(r) = cli.rootless.as_deref().filter(|r| *r != "false") {
        return Err(format!(
            "--rootless {r}: rootless mode is not built yet; run berth as root"
        ));
    }
    let root = cli.root.as_path();
    let e = |e: container::Error| e.to_string();
    match &cli.cmd {
        Command::Create(a) => {
            crate::exe_guard::ensure_protected()?;
            container::create(root, &a.options()).map_err(e)?;
        }
        Command::Start { id } => container::start(root, id).map_err(e)?,
        Command::State { id } => {
            let sf = container::StateFile::load(root, id).map_err(e)?;
            let st = sf.oci_state(sf.status());
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&st).map_err(|x| x.to_string())?
            ));
        }
        Command::Kill { id, signal, all } => {
            let sig = crate::signal::parse(signal)?;
            container::kill(root, id, sig, *all).map_err(e)?;
        }
        Command::Delete { id, force } => container::delete(root, id, *force).map_err(e)?,
        Command::List { format, quiet } => {
            out(&container::list(root, *format, *quiet).map_err(e)?);
        }
        Command::Spec { bundle } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(format!("{}: file already exists", path.display()));
            }
            std::fs::write(&path, crate::spec::default_spec_json())
                .map_err(|x| format!("{}: {x}", path.display()))?;
        }
        Command::Pause { id } => container::pause(root, id).map_err(e)?,
        Command::Resume { id } => container::resume(root, id).map_err(e)?,
        Command::Ps {
            id,
            format,
            ps_args,
        } => out(&container::ps(root, id, *format, ps_args).map_err(e)?),
        Command::Events {
            id,
            stats,
            interval,
        } => {
            let interval = container::parse_interval(interval)?;
            container::events(root, id, *stats, interval).map_err(e)?;
        }
        Command::Update(a) => container::update(root, &a.id, &a.flags()).map_err(e)?,
        Command::Features => {
            let f = crate::features::features();
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&f).map_err(|x| x.to_string())?
            ));
        }
        Command::Exec(a) => {
            crate::exe_guard::ensure_protected()?;
            return container::exec(root, &a.options()).map_err(e);
        }
        Command::Run {
            create,
            detach,
            keep,
        } => {
            crate::exe_guard::ensure_protected()?;
            return container::run(root, &create.options(), *detach, *keep).map_err(e);
        }
    }
    Ok(0)
}
