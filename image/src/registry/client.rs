//! HTTP(S) access to one repository of one registry.
//!
//! HTTP stack: `ureq` 3 with rustls, blocking. Layers are fetched on a few threads;
//! that needs no async runtime, keeps the binary small and start-up fast (which
//! `hoist run` of a cached image pays on every call), and compiles quickly.

use super::auth::{self, Challenge, Credentials};
use super::config::Endpoint;
use crate::digest::Digest;
use crate::manifest::Descriptor;
use crate::store::{BlobWriter, Store, StoreError};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::{Request, Response};
use ureq::Body;

/// How many times a transient failure is retried.
const ATTEMPTS: u32 = 5;

/// Registry failures.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Could not connect or the connection broke (worth retrying).
    #[error("{0}: {1}")]
    Transport(String, String),
    /// Could not connect for a reason retrying will not fix (TLS, unknown host).
    #[error("{0}: {1}")]
    Connect(String, String),
    /// The registry answered with an error status.
    #[error("{url}: registry answered {status}{detail}")]
    Status {
        /// Request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The registry's error message, if any.
        detail: String,
    },
    /// Authentication failed.
    #[error("{0}: authentication failed: {1}")]
    Unauthorized(String, String),
    /// TLS settings could not be used.
    #[error("CA file {0}: {1}")]
    CaFile(PathBuf, String),
    /// The store refused what arrived.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else about the answer was wrong.
    #[error("{0}: {1}")]
    Protocol(String, String),
}

impl RegistryError {
    fn transient(&self) -> bool {
        match self {
            RegistryError::Transport(..) => true,
            RegistryError::Status { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
            _ => false,
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Verify TLS certificates (default true).
    pub tls_verify: Option<bool>,
    /// Extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Credentials for basic auth and token requests.
    pub credentials: Option<Credentials>,
}

/// A request body that can be sent again after an auth challenge.
pub enum Payload {
    /// No body.
    Empty,
    /// Bytes.
    Bytes(Vec<u8>),
    /// A file's contents.
    File(PathBuf),
}

/// A client for one repository.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    repo: String,
    registry: String,
    creds: Option<Credentials>,
    auth_header: Mutex<Option<String>>,
    /// Sleep between retries grows from this.
    pub backoff: Duration,
}

impl Client {
    /// A client for `repo` at `endpoint`.
    pub fn new(
        endpoint: &Endpoint,
        repo: &str,
        opts: &ClientOptions,
    ) -> Result<Self, RegistryError> {
        use ureq::tls::{RootCerts, TlsConfig};
        let mut tls = TlsConfig::builder().disable_verification(!opts.tls_verify.unwrap_or(true));
        if let Some(ca) = &opts.ca_file {
            let pem =
                std::fs::read(ca).map_err(|e| RegistryError::CaFile(ca.clone(), e.to_string()))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                if let ureq::tls::PemItem::Certificate(c) =
                    item.map_err(|e| RegistryError::CaFile(ca.clone(), e.to_string()))?
                {
                    certs.push(c);
                }
            }
            if certs.is_empty() {
                return Err(RegistryError::CaFile(
                    ca.clone(),
                    "no PEM certificate in it".into(),
                ));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            // A registry that accepts but never answers is an error, not a hang.
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent("hoist/0.1")
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Client {
            agent,
            base: endpoint.base_url(),
            repo: repo.to_string(),
            registry: endpoint.host.clone(),
            creds: opts.credentials.clone(),
            auth_header: Mutex::new(None),
            backoff: Duration::from_millis(200),
        })
    }

    /// The repository this client talks to.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// `base/v2/<repo>/<tail>`.
    pub fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.repo)
    }

    /// One request, answering at most two auth challenges.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &Payload,
    ) -> Result<Response<Body>, RegistryError> {
        self.send_inner(method, url, headers, body, None)
    }

    /// [`Client::send`], with a time budget for receiving the response body.
    fn send_inner(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &Payload,
        recv_body: Option<Duration>,
    ) -> Result<Response<Body>, RegistryError> {
        let mut last_challenge = String::new();
        for _ in 0..3 {
            let mut b = Request::builder().method(method).uri(url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let cached = self.auth_header.lock().map(|g| g.clone()).unwrap_or(None);
            if let Some(h) = &cached {
                b = b.header("Authorization", h.as_str());
            }
            let tx = |e: ureq::Error| from_ureq(url, e);
            let resp = match body {
                Payload::Empty => {
                    let req = b
                        .body(())
                        .map_err(|e| RegistryError::Protocol(url.into(), e.to_string()))?;
                    let req = match recv_body {
                        Some(t) => self
                            .agent
                            .configure_request(req)
                            .timeout_recv_body(Some(t))
                            .build(),
                        None => req,
                    };
                    self.agent.run(req)
                }
                Payload::Bytes(v) => self.agent.run(
                    b.body(v.as_slice())
                        .map_err(|e| RegistryError::Protocol(url.into(), e.to_string()))?,
                ),
                Payload::File(p) => {
                    let f = std::fs::File::open(p).map_err(|e| {
                        RegistryError::Protocol(p.display().to_string(), e.to_string())
                    })?;
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    let b = b.header("Content-Length", len.to_string());
                    self.agent.run(
                        b.body(ureq::SendBody::from_owned_reader(f))
                            .map_err(|e| RegistryError::Protocol(url.into(), e.to_string()))?,
                    )
                }
            }
            .map_err(tx)?;
            if resp.status().as_u16() != 401 {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if challenge == last_challenge && cached.is_some() {
                break;
            }
            last_challenge = challenge.clone();
            let header = match auth::parse_challenge(&challenge) {
                Some(Challenge::Basic) => match &self.creds {
                    Some(c) => c.basic_header(),
                    None => {
                        return Err(RegistryError::Unauthorized(
                            url.into(),
                            format!(
                                "{} requires a login (hoist login {})",
                                self.registry, self.registry
                            ),
                        ))
                    }
                },
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scopes,
                }) => self.fetch_token(&realm, service.as_deref(), &scopes)?,
                None => {
                    return Err(RegistryError::Unauthorized(
                        url.into(),
                        format!("unsupported challenge {challenge:?}"),
                    ))
                }
            };
            if cached.as_deref() == Some(header.as_str()) {
                break;
            }
            if let Ok(mut g) = self.auth_header.lock() {
                *g = Some(header);
            }
        }
        Err(RegistryError::Unauthorized(
            url.into(),
            if self.creds.is_some() {
                "credentials were rejected".into()
            } else {
                "no credentials given".into()
            },
        ))
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<String, RegistryError> {
        let url = auth::token_url(realm, service, scopes);
        let mut b = Request::builder().method("GET").uri(&url);
        if let Some(c) = &self.creds {
            b = b.header("Authorization", c.basic_header());
        }
        let req = b
            .body(())
            .map_err(|e| RegistryError::Protocol(url.clone(), e.to_string()))?;
        let mut resp = self.agent.run(req).map_err(|e| from_ureq(&url, e))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized(
                realm.into(),
                format!("token server answered {status}: credentials were rejected"),
            ));
        }
        if status != 200 {
            return Err(status_error(&url, &mut resp));
        }
        #[derive(serde::Deserialize)]
        struct Tok {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| from_ureq(&url, e))?;
        let t: Tok = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::Protocol(url.clone(), format!("token answer: {e}")))?;
        let tok = t.token.or(t.access_token).ok_or_else(|| {
            RegistryError::Protocol(url.clone(), "token answer has no token".into())
        })?;
        Ok(format!("Bearer {tok}"))
    }

    /// Runs `f` again after transient failures, sleeping longer each time.
    pub fn retry<T>(
        &self,
        mut f: impl FnMut() -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut delay = self.backoff;
        let mut n = 1;
        loop {
            match f() {
                Err(e) if e.transient() && n < ATTEMPTS => {
                    std::thread::sleep(delay);
                    delay *= 2;
                    n += 1;
                }
                r => return r,
            }
        }
    }

    /// Fetches a manifest by tag or digest: (body, content type, digest of the body).
    pub fn manifest(&self, key: &str) -> Result<(Vec<u8>, Option<String>, Digest), RegistryError> {
        let url = self.url(&format!("manifests/{key}"));
        let (body, ct) = self.retry(|| {
            let mut resp = self.send(
                "GET",
                &url,
                &[("Accept", crate::manifest::ACCEPT)],
                &Payload::Empty,
            )?;
            if resp.status().as_u16() != 200 {
                return Err(status_error(&url, &mut resp));
            }
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let body = resp
                .body_mut()
                .with_config()
                .limit(8 << 20)
                .read_to_vec()
                .map_err(|e| from_ureq(&url, e))?;
            Ok((body, ct))
        })?;
        let digest = Digest::of(&body);
        if let Ok(want) = Digest::parse(key) {
            if want != digest {
                return Err(RegistryError::Store(StoreError::DigestMismatch {
                    expected: want,
                    actual: digest,
                    size: body.len() as u64,
                }));
            }
        }
        Ok((body, ct, digest))
    }

    /// Downloads a blob into the store unless it is there already, resuming with
    /// `Range` after a dropped connection. `progress` gets the bytes written so far.
    pub fn fetch_blob(
        &self,
        store: &Store,
        d: &Descriptor,
        progress: &dyn Fn(u64),
    ) -> Result<bool, RegistryError> {
        if store.has_blob(&d.digest, d.size) {
            return Ok(false);
        }
        let url = self.url(&format!("blobs/{}", d.digest));
        let mut w = store.temp_blob()?;
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            match self.fetch_once(&url, d.size, &mut w, progress) {
                Ok(()) => break,
                Err(e) if e.transient() && attempt < ATTEMPTS => {
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        w.commit(Some(&d.digest), Some(d.size))?;
        Ok(true)
    }

    fn fetch_once(
        &self,
        url: &str,
        size: u64,
        w: &mut BlobWriter,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let have = w.len();
        let range = format!("bytes={have}-");
        let headers: &[(&str, &str)] = if have > 0 {
            &[("Range", range.as_str())]
        } else {
            &[]
        };
        // ureq has no idle timeout: give the body a budget (2 min + 50 kB/s), after
        // which a stalled download fails as a timeout and is resumed.
        let budget = Duration::from_secs(120 + size.saturating_sub(have) / 50_000);
        let mut resp = self.send_inner("GET", url, headers, &Payload::Empty, Some(budget))?;
        match resp.status().as_u16() {
            206 if have > 0 => {
                // Only append if the server resumed exactly where we stopped.
                let cr = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !cr.starts_with(&format!("bytes {have}-")) {
                    w.reset()
                        .map_err(|e| RegistryError::Transport(url.into(), e.to_string()))?;
                    return Err(RegistryError::Transport(
                        url.into(),
                        format!("resume answered with Content-Range {cr:?}, restarting"),
                    ));
                }
            }
            200 => {
                if have > 0 {
                    w.reset()
                        .map_err(|e| RegistryError::Transport(url.into(), e.to_string()))?;
                }
            }
            _ => return Err(status_error(url, &mut resp)),
        }
        // Never take more than the descriptor promised (+1 so an oversized blob is noticed).
        let limit = (size + 1).saturating_sub(w.len());
        let mut r = resp.into_body().into_reader().take(limit);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(RegistryError::Transport(
                        url.into(),
                        format!("connection broke after {} bytes: {e}", w.len()),
                    ))
                }
            };
            w.write_all(&buf[..n]).map_err(|e| {
                RegistryError::Protocol(w.path().display().to_string(), e.to_string())
            })?;
            progress(w.len());
        }
        if w.len() < size {
            return Err(RegistryError::Transport(
                url.into(),
                format!("connection ended after {} of {size} bytes", w.len()),
            ));
        }
        Ok(())
    }

    /// Whether the repository has the blob.
    pub fn has_blob(&self, d: &Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{d}"));
        self.retry(|| {
            let mut resp = self.send("HEAD", &url, &[], &Payload::Empty)?;
            match resp.status().as_u16() {
                200 => Ok(true),
                404 => Ok(false),
                _ => Err(status_error(&url, &mut resp)),
            }
        })
    }

    /// Uploads a blob from the store; tries a cross-repository mount from `mount_from` first.
    /// Returns how it got there: "exists", "mounted" or "uploaded".
    pub fn push_blob(
        &self,
        store: &Store,
        d: &Descriptor,
        mount_from: Option<&str>,
    ) -> Result<&'static str, RegistryError> {
        if self.has_blob(&d.digest)? {
            return Ok("exists");
        }
        let mut start = self.url("blobs/uploads/");
        if let Some(from) = mount_from.filter(|f| *f != self.repo) {
            start.push_str(&format!(
                "?mount={}&from={}",
                auth::query_escape(d.digest.as_str()),
                auth::query_escape(from)
            ));
        }
        let location = self.retry(|| {
            let mut resp =
                self.send("POST", &start, &[("Content-Length", "0")], &Payload::Empty)?;
            match resp.status().as_u16() {
                201 => Ok(None),
                202 => Ok(Some(self.location(&start, &resp)?)),
                _ => Err(status_error(&start, &mut resp)),
            }
        })?;
        let Some(loc) = location else {
            return Ok("mounted");
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let put = format!("{loc}{sep}digest={}", auth::query_escape(d.digest.as_str()));
        let path = store.blob_path(&d.digest);
        let mut resp = self.send(
            "PUT",
            &put,
            &[("Content-Type", "application/octet-stream")],
            &Payload::File(path),
        )?;
        if resp.status().as_u16() != 201 {
            return Err(status_error(&put, &mut resp));
        }
        Ok("uploaded")
    }

    fn location(&self, url: &str, resp: &Response<Body>) -> Result<String, RegistryError> {
        let loc = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::Protocol(url.into(), "upload answer has no Location".into())
            })?;
        Ok(
            if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.into()
            } else {
                format!("{}{loc}", self.base)
            },
        )
    }

    /// Uploads a manifest under `key` (tag or digest).
    pub fn put_manifest(
        &self,
        key: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("manifests/{key}"));
        self.retry(|| {
            let mut resp = self.send(
                "PUT",
                &url,
                &[("Content-Type", media_type)],
                &Payload::Bytes(body.to_vec()),
            )?;
            if resp.status().as_u16() != 201 {
                return Err(status_error(&url, &mut resp));
            }
            Ok(())
        })
    }

    /// Checks that the registry accepts our credentials (`GET /v2/`).
    pub fn ping(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        let mut resp = self.retry(|| self.send("GET", &url, &[], &Payload::Empty))?;
        match resp.status().as_u16() {
            200 => Ok(()),
            _ => Err(status_error(&url, &mut resp)),
        }
    }
}

/// Sorts a ureq error into retryable transport trouble and lasting failures.
fn from_ureq(url: &str, e: ureq::Error) -> RegistryError {
    match e {
        // rustls reports a failed handshake (e.g. an untrusted certificate) as InvalidData.
        ureq::Error::Io(ref io) if io.kind() == io::ErrorKind::InvalidData => {
            RegistryError::Connect(url.into(), e.to_string())
        }
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::BodyStalled
        | ureq::Error::Protocol(_) => RegistryError::Transport(url.into(), e.to_string()),
        ureq::Error::HostNotFound => RegistryError::Connect(url.into(), "host not found".into()),
        e => RegistryError::Connect(url.into(), e.to_string()),
    }
}

/// An error for an unexpected status, with the registry's own message if it sent one.
fn status_error(url: &str, resp: &mut Response<Body>) -> RegistryError {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 10)
        .read_to_vec()
        .unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct Errs {
        errors: Vec<E>,
    }
    #[derive(serde::Deserialize)]
    struct E {
        code: Option<String>,
        message: Option<String>,
    }
    let detail = serde_json::from_slice::<Errs>(&body)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
        .map(|e| {
            format!(
                ": {} {}",
                e.code.unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
        .unwrap_or_default();
    if status == 401 || status == 403 {
        return RegistryError::Unauthorized(
            url.into(),
            format!("registry answered {status}{detail}"),
        );
    }
    RegistryError::Status {
        url: url.into(),
        status,
        detail,
    }
}
