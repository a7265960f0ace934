//! The `hoist` command line.

use clap::{Parser, Subcommand};
use hoist::bundle::{self, RootfsKind, SpecOptions};
use hoist::manifest::Platform;
use hoist::progress::Style;
use hoist::pull::{self, PullOptions};
use hoist::reference::Reference;
use hoist::registry::auth::{self, Credentials};
use hoist::registry::config::RegistryConfig;
use hoist::registry::{Client, ClientOptions};
use hoist::store::Store;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

type Error = Box<dyn std::error::Error>;

#[derive(Parser)]
#[command(
    name = "hoist",
    version,
    about = "Pull, store, unpack and run OCI images (berth's image tool)"
)]
struct Cli {
    /// Image store directory.
    #[arg(long, global = true, default_value = "/var/lib/hoist")]
    root: PathBuf,
    /// JSON file mapping registries to mirrors and marking them insecure (plain HTTP)
    /// [default: /etc/hoist/registries.json if it exists].
    #[arg(long, global = true)]
    registry_config: Option<PathBuf>,
    /// Verify TLS certificates.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set)]
    tls_verify: bool,
    /// Extra CA certificate(s) (PEM) to trust.
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
    /// Credentials file (docker config.json format).
    #[arg(long, global = true)]
    authfile: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fetch an image from a registry into the store.
    Pull {
        /// Image reference.
        image: String,
        /// os/arch[/variant] to choose from a multi-platform image.
        #[arg(long)]
        platform: Option<String>,
        /// Concurrent downloads.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// List stored images.
    Images,
    /// Print an image's manifest and config as JSON.
    Inspect {
        /// Image name or digest.
        image: String,
    },
    /// Give a stored image another name.
    Tag {
        /// Existing image.
        source: String,
        /// New name.
        target: String,
    },
    /// Remove image names (blobs go with `prune`).
    Rmi {
        /// Image names or digests.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Delete blobs and unpacked layers no image needs.
    Prune,
    /// Unpack an image's layers into a directory.
    Unpack {
        /// Image.
        image: String,
        /// Target directory.
        dir: PathBuf,
    },
    /// Write an OCI bundle (rootfs + config.json) for an image.
    Bundle {
        /// Image (pulled if missing).
        image: String,
        /// Bundle directory.
        dir: PathBuf,
        /// Copy the layers into the rootfs instead of mounting an overlay of cached layers.
        #[arg(long)]
        copy: bool,
        /// Allocate a terminal in the container.
        #[arg(long, short)]
        tty: bool,
        /// Command replacing the image's Cmd.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Pull if needed, bundle and run an image with berth.
    Run {
        /// Delete the bundle after the container exits.
        #[arg(long)]
        rm: bool,
        /// Allocate a terminal.
        #[arg(long, short)]
        tty: bool,
        /// The OCI runtime binary (default: berth next to hoist, then on PATH).
        #[arg(long)]
        runtime: Option<PathBuf>,
        /// Share the host's network namespace.
        #[arg(long)]
        host_network: bool,
        /// Copy the layers instead of an overlay.
        #[arg(long)]
        copy: bool,
        /// Image.
        image: String,
        /// Command replacing the image's Cmd.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Upload a stored image to a registry.
    Push {
        /// Stored image.
        image: String,
        /// Destination reference (default: the image's own name).
        dest: Option<String>,
    },
    /// Write images to an archive.
    Save {
        /// Output file.
        #[arg(long, short)]
        output: PathBuf,
        /// oci-archive or docker-archive.
        #[arg(long, default_value = "oci-archive")]
        format: String,
        /// Images.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Read images from an oci-archive or docker-archive.
    Load {
        /// Input file.
        #[arg(long, short)]
        input: PathBuf,
    },
    /// Store credentials for a registry.
    Login {
        /// Registry host, e.g. 127.0.0.1:5000.
        registry: String,
        /// User name.
        #[arg(long, short)]
        username: String,
        /// Password (prefer --password-stdin).
        #[arg(long, short)]
        password: Option<String>,
        /// Read the password from stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove stored credentials for a registry.
    Logout {
        /// Registry host.
        registry: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hoist: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// One line: the error and its causes, skipping causes already in the message.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s.replace('\n', " ")
}

fn client_options(cli: &Cli, registry: &str) -> Result<ClientOptions, Error> {
    let files = auth::auth_files(cli.authfile.as_deref());
    Ok(ClientOptions {
        tls_verify: Some(cli.tls_verify),
        ca_file: cli.ca_file.clone(),
        credentials: auth::lookup(&files, registry)?,
    })
}

fn registries(cli: &Cli) -> Result<RegistryConfig, Error> {
    const SYSTEM_CONFIG: &str = "/etc/hoist/registries.json";
    Ok(match &cli.registry_config {
        Some(p) => RegistryConfig::load(p)?,
        None if Path::new(SYSTEM_CONFIG).exists() => {
            RegistryConfig::load(Path::new(SYSTEM_CONFIG))?
        }
        None => RegistryConfig::default(),
    })
}

fn pull_options(
    cli: &Cli,
    r: &Reference,
    platform: Option<&str>,
    jobs: usize,
) -> Result<PullOptions, Error> {
    let registries = registries(cli)?;
    let endpoint = registries.resolve(&r.registry);
    Ok(PullOptions {
        platform: platform
            .map(Platform::parse)
            .transpose()?
            .unwrap_or_else(Platform::host),
        jobs,
        client: client_options(cli, &endpoint.host)?,
        registries,
        progress: if cli.quiet { Style::Quiet } else { Style::Auto },
    })
}

/// The stored image `name`, pulling it first if it is not there.
fn ensure_image(
    cli: &Cli,
    store: &Store,
    name: &str,
) -> Result<hoist::manifest::Descriptor, Error> {
    if let Ok(d) = store.find_image(name) {
        return Ok(d);
    }
    let r = Reference::parse(name)?;
    let opts = pull_options(cli, &r, None, 4)?;
    Ok(pull::pull(store, &r, &opts)?)
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match &cli.cmd {
        Cmd::Login {
            registry,
            username,
            password,
            password_stdin,
        } => {
            let password = match (password, password_stdin) {
                (Some(p), false) => p.clone(),
                (None, true) => {
                    let mut l = String::new();
                    std::io::stdin().lock().read_line(&mut l)?;
                    l.trim_end_matches(['\n', '\r']).to_string()
                }
                _ => return Err("login: give exactly one of --password or --password-stdin".into()),
            };
            let creds = Credentials {
                username: username.clone(),
                password,
            };
            let endpoint = registries(&cli)?.resolve(registry);
            let opts = ClientOptions {
                tls_verify: Some(cli.tls_verify),
                ca_file: cli.ca_file.clone(),
                credentials: Some(creds.clone()),
            };
            Client::new(&endpoint, "", &opts)?.ping()?;
            let file = cli.authfile.clone().unwrap_or_else(auth::docker_config);
            auth::store(&file, registry, Some(&creds))?;
            eprintln!("Login succeeded");
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Logout { registry } => {
            let file = cli.authfile.clone().unwrap_or_else(auth::docker_config);
            if !auth::store(&file, registry, None)? {
                return Err(format!("not logged in to {registry} ({})", file.display()).into());
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let store = Store::open(&cli.root)?;
    match &cli.cmd {
        Cmd::Pull {
            image,
            platform,
            jobs,
        } => {
            let r = Reference::parse(image)?;
            let opts = pull_options(&cli, &r, platform.as_deref(), *jobs)?;
            let d = pull::pull(&store, &r, &opts)?;
            println!("{}", d.digest);
        }
        Cmd::Images => {
            println!("{:<60} {:<19} {:>12}", "IMAGE", "DIGEST", "SIZE");
            for d in store.read_index()?.manifests {
                let name = d
                    .annotations
                    .get(hoist::store::REF_NAME)
                    .cloned()
                    .unwrap_or_else(|| "<none>".into());
                let size = store
                    .image(&d)
                    .map(|(m, _)| m.layers.iter().map(|l| l.size).sum::<u64>() + m.config.size)
                    .unwrap_or(0);
                println!("{name:<60} {:<19} {size:>12}", &d.digest.as_str()[..19]);
            }
        }
        Cmd::Inspect { image } => {
            let d = store.find_image(image)?;
            let (m, _) = store.image(&d)?;
            // The config as stored, with every field (ImageConfig keeps only what hoist uses).
            let config: serde_json::Value =
                serde_json::from_slice(&store.read_blob(&m.config.digest)?)?;
            let out = serde_json::json!({"name": d.annotations.get(hoist::store::REF_NAME), "digest": d.digest, "manifest": m, "config": config});
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Cmd::Tag { source, target } => {
            let mut d = store.find_image(source)?;
            let name = Reference::parse(target)?.to_string();
            d.annotations.clear();
            store.set_image(&name, d)?;
        }
        Cmd::Rmi { images } => {
            for i in images {
                let d = store.find_image(i)?;
                let name = d.annotations.get(hoist::store::REF_NAME).cloned();
                store.update_index(|ix| {
                    ix.manifests.retain(|x| {
                        !(x.digest == d.digest
                            && x.annotations.get(hoist::store::REF_NAME) == name.as_ref())
                    })
                })?;
                println!("untagged {}", name.unwrap_or_else(|| d.digest.to_string()));
            }
        }
        Cmd::Prune => {
            let freed = store.prune()?;
            println!("freed {freed} bytes");
        }
        Cmd::Unpack { image, dir } => {
            let d = store.find_image(image)?;
            let (m, c) = store.image(&d)?;
            hoist::rootfs::flatten(&store, &m, &c, dir)?;
        }
        Cmd::Bundle {
            image,
            dir,
            copy,
            tty,
            command,
        } => {
            let d = ensure_image(&cli, &store, image)?;
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let opts = SpecOptions {
                command: command.clone(),
                terminal: *tty,
                hostname: "hoist".into(),
                host_network: false,
            };
            let kind = if *copy {
                RootfsKind::Copy
            } else {
                RootfsKind::Overlay
            };
            bundle::write_bundle(&store, &d, dir, kind, &opts)?;
        }
        Cmd::Run {
            rm,
            tty,
            runtime,
            host_network,
            copy,
            image,
            command,
        } => {
            return run_container(
                &cli,
                &store,
                image,
                command,
                *rm,
                *tty,
                runtime.as_deref(),
                *host_network,
                *copy,
            );
        }
        Cmd::Push { image, dest } => {
            let d = store.find_image(image)?;
            let own = d
                .annotations
                .get(hoist::store::REF_NAME)
                .and_then(|n| Reference::parse(n).ok());
            let dest = match dest {
                Some(x) => Reference::parse(x)?,
                None => own.clone().ok_or_else(|| {
                    format!("image {image:?} has no name to push to: give a destination")
                })?,
            };
            let opts = pull_options(&cli, &dest, None, 4)?;
            for l in hoist::push::push(&store, &d, own.as_ref(), &dest, &opts)? {
                if !cli.quiet {
                    eprintln!("{l}");
                }
            }
            println!("{}", d.digest);
        }
        Cmd::Save {
            output,
            format,
            images,
        } => {
            let format = match format.as_str() {
                "oci-archive" | "oci" => hoist::archive::Format::OciArchive,
                "docker-archive" | "docker" => hoist::archive::Format::DockerArchive,
                f => {
                    return Err(
                        format!("--format {f:?}: expected oci-archive or docker-archive").into(),
                    )
                }
            };
            let descs = images
                .iter()
                .map(|i| store.find_image(i))
                .collect::<Result<Vec<_>, _>>()?;
            hoist::archive::save(&store, &descs, output, format)?;
        }
        Cmd::Load { input } => {
            for n in hoist::archive::load(&store, input)? {
                println!("Loaded image: {n}");
            }
        }
        Cmd::Login { .. } | Cmd::Logout { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn run_container(
    cli: &Cli,
    store: &Store,
    image: &str,
    command: &[String],
    rm: bool,
    tty: bool,
    runtime: Option<&Path>,
    host_network: bool,
    copy: bool,
) -> Result<ExitCode, Error> {
    let d = ensure_image(cli, store, image)?;
    let opts = hoist::run::RunOptions {
        runtime: runtime.map(Path::to_path_buf),
        rm,
        spec: SpecOptions {
            command: command.to_vec(),
            terminal: tty,
            hostname: String::new(),
            host_network,
        },
        kind: if copy {
            RootfsKind::Copy
        } else {
            RootfsKind::Overlay
        },
    };
    let status = hoist::run::run(store, &d, &opts)?;
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => ExitCode::from(c.clamp(0, 255) as u8),
        (None, Some(s)) => ExitCode::from((128 + s).clamp(0, 255) as u8),
        _ => ExitCode::FAILURE,
    })
}
