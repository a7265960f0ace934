//! A real `docker-registry` (distribution 2.8) on 127.0.0.1, started per test and
//! stopped by PID when the fixture drops.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (the listener is closed again; the race is harmless here).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How the registry authenticates.
pub enum Auth {
    /// Anonymous.
    None,
    /// htpasswd (bcrypt) with one user.
    Basic(&'static str, &'static str),
    /// Bearer tokens from a token server at `realm`, signed by `cert`.
    Token {
        /// Token endpoint URL.
        realm: String,
        /// PEM certificate whose key signs the tokens.
        cert: PathBuf,
    },
}

/// A running registry; killed and its data removed on drop.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Scratch directory (data, config, certs).
    pub dir: tempfile::TempDir,
    /// CA certificate to trust, when serving TLS.
    pub ca: Option<PathBuf>,
}

impl Registry {
    /// Starts a registry over plain HTTP (or TLS with a fresh CA when `tls`).
    pub fn start(tls: bool, auth: Auth) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        let mut ca = None;
        if tls {
            let (ca_pem, cert, key) = make_certs(dir.path());
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            ca = Some(ca_pem);
        }
        match auth {
            Auth::None => {}
            Auth::Basic(user, pass) => {
                let hp = dir.path().join("htpasswd");
                super::run_ok(
                    Command::new("htpasswd")
                        .args(["-Bbc"])
                        .arg(&hp)
                        .args([user, pass]),
                );
                cfg.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    hp.display()
                ));
            }
            Auth::Token { realm, cert } => {
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                ));
            }
        }
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).expect("write config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let reg = Registry {
            child,
            addr: format!("127.0.0.1:{port}"),
            dir,
            ca,
        };
        wait_for_port(port);
        reg
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it (rustls refuses a CA as server cert).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n);
    let ossl = |args: &[&str]| super::run_ok(Command::new("openssl").args(args).current_dir(dir));
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=hoist test CA",
    ]);
    ossl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n").expect("ext");
    ossl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (p("ca.pem"), p("server.pem"), p("server.key"))
}
