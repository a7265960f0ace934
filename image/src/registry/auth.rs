//! Registry authentication: `WWW-Authenticate` challenges and stored credentials
//! (docker `config.json` / containers `auth.json`).

use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP basic auth.
    Basic,
    /// Token auth: fetch a token from `realm`.
    Bearer {
        /// Token endpoint URL.
        realm: String,
        /// `service` parameter.
        service: Option<String>,
        /// Scopes (a `scope=` value may hold several, space separated).
        scopes: Vec<String>,
    },
}

/// Parses a `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    Some(Challenge::Bearer {
        realm: params.get("realm")?.clone(),
        service: params.get("service").cloned(),
        scopes: params
            .get("scope")
            .map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// `k="v", k2=v2` with commas allowed inside quotes.
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            val = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        out.insert(key.trim().to_ascii_lowercase(), val);
    }
    out
}

/// A user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    /// The `Authorization: Basic` value.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Problems with auth files.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// Could not read or write.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Not valid JSON.
    #[error("{0}: not a valid auth file: {1}")]
    Json(PathBuf, String),
}

/// The auth files to read, in order: an explicit one, `$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`, then `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn auth_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = explicit {
        v.push(p.to_path_buf());
        return v;
    }
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_RUNTIME_DIR") {
        v.push(PathBuf::from(p).join("containers/auth.json"));
    }
    v.push(docker_config());
    v
}

/// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`: where `hoist login` writes.
pub fn docker_config() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => PathBuf::from(d).join("config.json"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".docker/config.json"),
    }
}

/// The keys a registry may be stored under.
fn keys_for(registry: &str) -> Vec<String> {
    let mut k = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if registry == "docker.io" {
        k.push("https://index.docker.io/v1/".into());
        k.push("index.docker.io".into());
        k.push("registry-1.docker.io".into());
    }
    k
}

/// Looks up credentials for `registry` in the auth files.
pub fn lookup(files: &[PathBuf], registry: &str) -> Result<Option<Credentials>, AuthFileError> {
    for f in files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(AuthFileError::Io(f.clone(), e)),
        };
        let v: serde_json::Value = serde_json::from_slice(&data)
            .map_err(|e| AuthFileError::Json(f.clone(), e.to_string()))?;
        for k in keys_for(registry) {
            let Some(auth) = v
                .pointer(&format!(
                    "/auths/{}",
                    k.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(|a| a.get("auth"))
                .and_then(|a| a.as_str())
            else {
                continue;
            };
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| AuthFileError::Json(f.clone(), format!("auths.{k}.auth: {e}")))?;
            let raw = String::from_utf8_lossy(&raw);
            let (u, p) = raw.split_once(':').ok_or_else(|| {
                AuthFileError::Json(f.clone(), format!("auths.{k}.auth: not user:password"))
            })?;
            return Ok(Some(Credentials {
                username: u.into(),
                password: p.into(),
            }));
        }
    }
    Ok(None)
}

/// Stores (or with `None` removes) credentials for `registry` in `file`, keeping its other contents.
/// Returns whether anything changed.
pub fn store(
    file: &Path,
    registry: &str,
    creds: Option<&Credentials>,
) -> Result<bool, AuthFileError> {
    let mut v: serde_json::Value = match std::fs::read(file) {
        Ok(d) => serde_json::from_slice(&d)
            .map_err(|e| AuthFileError::Json(file.into(), e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(AuthFileError::Io(file.into(), e)),
    };
    let obj = v
        .as_object_mut()
        .ok_or_else(|| AuthFileError::Json(file.into(), "top level is not an object".into()))?;
    let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
    let auths = auths
        .as_object_mut()
        .ok_or_else(|| AuthFileError::Json(file.into(), "auths is not an object".into()))?;
    let mut changed = false;
    for k in keys_for(registry) {
        changed |= auths.remove(&k).is_some();
    }
    if let Some(c) = creds {
        let raw = format!("{}:{}", c.username, c.password);
        auths.insert(
            registry.into(),
            serde_json::json!({"auth": base64::engine::general_purpose::STANDARD.encode(raw)}),
        );
        changed = true;
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AuthFileError::Io(dir.into(), e))?;
    }
    let data = serde_json::to_vec_pretty(&v)
        .map_err(|e| AuthFileError::Json(file.into(), e.to_string()))?;
    // Credentials: owner-only, written atomically.
    let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
    let res = (|| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(AuthFileError::Io(file.into(), e));
    }
    Ok(changed)
}

/// Percent-encodes a query value.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The token URL for a bearer challenge.
pub fn token_url(realm: &str, service: Option<&str>, scopes: &[String]) -> String {
    let mut url = realm.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    if let Some(s) = service {
        url.push_str(&format!("{sep}service={}", query_escape(s)));
        sep = '&';
    }
    for s in scopes {
        url.push_str(&format!("{sep}scope={}", query_escape(s)));
        sep = '&';
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_two_scopes_parses() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="reg, 1",scope="repository:a/b:pull repository:c:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg, 1".into()),
                scopes: vec![
                    "repository:a/b:pull".into(),
                    "repository:c:pull,push".into()
                ],
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn token_url_escapes_scopes() {
        assert_eq!(
            token_url(
                "http://t/token",
                Some("reg"),
                &["repository:a/b:pull,push".into()]
            ),
            "http://t/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn login_then_lookup_then_logout_round_trips() {
        let t = tempfile::tempdir().expect("tmp");
        let f = t.path().join("config.json");
        std::fs::write(
            &f,
            r#"{"credsStore":"x","auths":{"other.io":{"auth":"dTpw"}}}"#,
        )
        .expect("write");
        let c = Credentials {
            username: "alice".into(),
            password: "s:cret".into(),
        };
        store(&f, "127.0.0.1:5000", Some(&c)).expect("store");
        assert_eq!(
            lookup(std::slice::from_ref(&f), "127.0.0.1:5000").expect("lookup"),
            Some(c)
        );
        let other = lookup(std::slice::from_ref(&f), "other.io")
            .expect("lookup")
            .expect("other");
        assert_eq!(
            (other.username.as_str(), other.password.as_str()),
            ("u", "p")
        );
        assert!(store(&f, "127.0.0.1:5000", None).expect("logout"));
        assert_eq!(
            lookup(std::slice::from_ref(&f), "127.0.0.1:5000").expect("lookup"),
            None
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
        assert_eq!(v["credsStore"], "x");
    }
}
