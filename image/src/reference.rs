//! Image references as people write them, normalized the way docker and podman do.
//!
//! `busybox` is `docker.io/library/busybox:latest`; the first path component is a
//! registry only if it contains `.` or `:` or is `localhost`.

use crate::digest::Digest;
use std::fmt;

/// The registry used when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (and port), e.g. `docker.io` or `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path, e.g. `library/busybox`.
    pub repository: String,
    /// Tag, if any (`latest` is filled in when neither tag nor digest is given).
    pub tag: Option<String>,
    /// Digest, if pinned.
    pub digest: Option<Digest>,
}

/// Why a reference was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    /// Empty input.
    #[error("image reference is empty")]
    Empty,
    /// A repository path component has characters registries refuse.
    #[error("image reference {0:?}: repository component {1:?} must be lowercase letters, digits and separators (. _ __ -)")]
    Component(String, String),
    /// The tag is not `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("image reference {0:?}: tag {1:?} is not valid")]
    Tag(String, String),
    /// The digest part is not valid.
    #[error("image reference {0:?}: {1}")]
    Digest(String, crate::digest::DigestError),
    /// Longer than the 255 characters registries accept for a name.
    #[error("image reference {0:?}: repository name is longer than 255 characters")]
    TooLong(String),
}

impl Reference {
    /// Parses `[registry/]path[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (
                r,
                Some(Digest::parse(d).map_err(|e| ReferenceError::Digest(input.into(), e))?),
            ),
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(ReferenceError::Tag(input.into(), t.into()));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, tail))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), tail.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            DEFAULT_REGISTRY.into()
        } else {
            registry
        };
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        for c in repository.split('/') {
            if !valid_component(c) {
                return Err(ReferenceError::Component(input.into(), c.into()));
            }
        }
        if repository.len() > 255 {
            return Err(ReferenceError::TooLong(input.into()));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry's manifest endpoint for: the digest if pinned, else the tag.
    pub fn manifest_key(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        Reference::parse(s)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn short_names_get_docker_io_library_and_latest() {
        assert_eq!(p("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(p("library/busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(p("team/app"), "docker.io/team/app:latest");
        assert_eq!(
            p("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn registry_with_port_is_not_mistaken_for_a_tag() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v2").expect("valid");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v2"));
        let r = Reference::parse("localhost:5000/app").expect("valid");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(p("localhost/app"), "localhost/app:latest");
        assert_eq!(p("quay.io/x/y"), "quay.io/x/y:latest");
    }

    #[test]
    fn digest_references_carry_no_default_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("busybox@{d}")).expect("valid");
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_key(), d);
        let r = Reference::parse(&format!("busybox:1@{d}")).expect("valid");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.manifest_key(), d);
    }

    #[test]
    fn bad_references_are_refused_with_the_reason() {
        assert_eq!(p(""), "ERR image reference is empty");
        assert!(p("Busybox").contains("repository component \"Busybox\""));
        assert!(p("busybox:-x").contains("tag \"-x\""));
        assert!(p("busybox@sha256:12").starts_with("ERR"));
        assert!(p("a//b").starts_with("ERR"));
        assert!(p("a/b_-c").starts_with("ERR"));
        assert_eq!(p("a/b__c-d--e.f"), "docker.io/a/b__c-d--e.f:latest");
    }
}
