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
        let mut ca = None;
        let mut base = String::new();
        if tls {
            let (ca_pem, cert, key) = make_certs(dir.path());
            base.push_str(&format!(
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
                base.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    hp.display()
                ));
            }
            Auth::Token { realm, cert } => {
                base.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                ));
            }
        }
        // The free port may be taken by someone else before the registry binds it:
        // only accept a port whose listening socket belongs to our registry process.
        for _ in 0..5 {
            let port = free_port();
            let cfg = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{base}",
                dir.path().join("data").display()
            );
            let cfg_path = dir.path().join("config.yml");
            std::fs::write(&cfg_path, cfg).expect("write config");
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&cfg_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start docker-registry");
            let mut child = child;
            if wait_for_own_listener(&mut child, port) {
                return Registry {
                    child,
                    addr: format!("127.0.0.1:{port}"),
                    dir,
                    ca,
                };
            }
        }
        panic!("docker-registry did not start on a free port after 5 tries");
    }
}

/// The inode of the socket listening on 127.0.0.1:`port`, if any.
fn listener_inode(port: u16) -> Option<String> {
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!("0100007F:{port:04X}");
    tcp.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 9 && f[1] == want && f[3] == "0A").then(|| f[9].to_string())
    })
}

/// Waits until `child` listens on `port`; false if it exits or someone else owns the port.
fn wait_for_own_listener(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if let Some(inode) = listener_inode(port) {
            let target = format!("socket:[{inode}]");
            let fds = std::fs::read_dir(format!("/proc/{}/fd", child.id()))
                .into_iter()
                .flatten()
                .flatten();
            if fds
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .any(|l| l.to_str() == Some(target.as_str()))
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
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

/// Reads an HTTP request head (up to the blank line) from `s`.
fn read_head(s: &mut TcpStream) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        buf.push(b[0]);
        if buf.len() > 64 << 10 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A background server thread, stopped when dropped.
pub struct Server {
    /// Port it listens on.
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn spawn(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let handler = std::sync::Arc::new(handler);
        let thread = std::thread::spawn(move || {
            for c in l.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(c) = c else { continue };
                let h = handler.clone();
                std::thread::spawn(move || h(c));
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A token server for distribution's `token` auth: checks basic credentials and
/// answers with an RS256 JWT (signed by `openssl`) granting the asked scopes.
pub struct TokenServer {
    /// The server.
    pub server: Server,
    /// Token requests answered with a token.
    pub issued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The signing certificate (the registry's `rootcertbundle`).
    pub cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    /// Starts a token server accepting `user`/`pass`.
    pub fn start(user: &'static str, pass: &'static str) -> TokenServer {
        use base64::Engine as _;
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().to_path_buf();
        super::run_ok(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "tok.key",
                    "-out",
                    "tok.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=token signer",
                ])
                .current_dir(&d),
        );
        let der = std::process::Command::new("openssl")
            .args(["x509", "-in", "tok.pem", "-outform", "der"])
            .current_dir(&d)
            .output()
            .expect("der")
            .stdout;
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let issued2 = issued.clone();
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        let seq = std::sync::atomic::AtomicUsize::new(0);
        let server = Server::spawn(move |mut c| {
            use std::io::Write;
            let Some(head) = read_head(&mut c) else {
                return;
            };
            let path = head.split_whitespace().nth(1).unwrap_or("");
            if header(&head, "authorization") != Some(want.as_str()) {
                let _ = c.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
            let query = path.split_once('?').map_or("", |(_, q)| q);
            let mut access = Vec::new();
            for kv in query.split('&') {
                let Some(v) = kv.strip_prefix("scope=") else {
                    continue;
                };
                let v = unescape(v);
                for sc in v.split(' ') {
                    let parts: Vec<&str> = sc.split(':').collect();
                    if parts.len() == 3 {
                        access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": parts[2].split(',').collect::<Vec<_>>()}));
                    }
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let n = seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let b64 = |v: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(serde_json::to_vec(v).expect("json"))
            };
            let h = b64(&serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]}));
            let claims = b64(
                &serde_json::json!({"iss": "test-issuer", "sub": user, "aud": "test-registry", "exp": now + 600, "nbf": now - 10, "iat": now - 10, "jti": format!("t{n}"), "access": access}),
            );
            let input = format!("{h}.{claims}");
            let inp = d.join(format!("in-{n}"));
            std::fs::write(&inp, &input).expect("write");
            let sig = std::process::Command::new("openssl")
                .args(["dgst", "-sha256", "-sign", "tok.key"])
                .arg(&inp)
                .current_dir(&d)
                .output()
                .expect("sign")
                .stdout;
            let jwt = format!(
                "{input}.{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
            );
            let body = serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 600})
                .to_string();
            issued2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        });
        TokenServer {
            server,
            issued,
            cert: dir.path().join("tok.pem"),
            _dir: dir,
        }
    }

    /// The realm URL.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.server.port)
    }
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the fault proxy does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward unchanged.
    Pass,
    /// Answer 500 without forwarding.
    Error500,
    /// Forward, but close the connection halfway through the body.
    Drop,
    /// Forward with one body byte flipped.
    Corrupt,
    /// Send half the body, then hold the connection until the client goes away.
    Stall,
}

/// A proxy in front of a registry that injects faults chosen per request by `rule`
/// (given the request line and how many requests came before).
pub struct FaultProxy {
    /// The server.
    pub server: Server,
    /// Request heads seen, in order.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Set once a [`Fault::Stall`] has sent its half body.
    pub stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT`).
    pub fn start(
        upstream: &str,
        rule: impl Fn(&str, usize) -> Fault + Send + Sync + 'static,
    ) -> FaultProxy {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stalled2 = stalled.clone();
        let upstream = upstream.to_string();
        let server = Server::spawn(move |mut c| {
            use std::io::{Read, Write};
            let Some(head) = read_head(&mut c) else {
                return;
            };
            let n = {
                let mut g = seen2.lock().expect("lock");
                g.push(head.clone());
                g.len() - 1
            };
            let line = head.lines().next().unwrap_or("").to_string();
            let fault = rule(&line, n);
            if fault == Fault::Error500 {
                let _ = c.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                return;
            }
            let Ok(mut up) = TcpStream::connect(&upstream) else {
                return;
            };
            let fwd: String = head
                .lines()
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .filter(|l| !l.is_empty())
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
                + "Connection: close\r\n\r\n";
            if up.write_all(fwd.as_bytes()).is_err() {
                return;
            }
            let mut resp = Vec::new();
            let _ = up.read_to_end(&mut resp);
            let body_start = resp
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(resp.len(), |p| p + 4);
            match fault {
                Fault::Drop => {
                    let cut = body_start + (resp.len() - body_start) / 2;
                    let _ = c.write_all(&resp[..cut]);
                    let _ = c.shutdown(std::net::Shutdown::Both);
                }
                Fault::Stall => {
                    let cut = body_start + (resp.len() - body_start) / 2;
                    let _ = c.write_all(&resp[..cut]);
                    let _ = c.flush();
                    stalled2.store(true, std::sync::atomic::Ordering::SeqCst);
                    let mut sink = [0u8; 64];
                    while matches!(c.read(&mut sink), Ok(n) if n > 0) {}
                }
                Fault::Corrupt => {
                    if resp.len() > body_start + 10 {
                        resp[body_start + 10] ^= 0xff;
                    }
                    let _ = c.write_all(&resp);
                }
                _ => {
                    let _ = c.write_all(&resp);
                }
            }
        });
        FaultProxy {
            server,
            seen,
            stalled,
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }
}
