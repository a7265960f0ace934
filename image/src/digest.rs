//! Content digests (`sha256:<64 hex>`), the names of everything in the store.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// A validated `sha256:` digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a digest string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    /// The algorithm is not sha256.
    #[error("digest {0:?}: only sha256 digests are supported")]
    Algorithm(String),
    /// The hex part is not 64 lowercase hex digits.
    #[error("digest {0:?}: expected \"sha256:\" followed by 64 lowercase hex digits")]
    Malformed(String),
}

impl Digest {
    /// Parses and validates `sha256:<hex>`.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(DigestError::Malformed(s.to_string()));
        };
        if alg != "sha256" {
            return Err(DigestError::Algorithm(s.to_string()));
        }
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Malformed(s.to_string()));
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(data))
    }

    /// The digest a finished hasher computed.
    pub fn from_hasher(h: Sha256) -> Self {
        Digest(format!("sha256:{}", to_hex(&h.finalize())))
    }

    /// The 64 hex digits, used as the blob's file name.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// The full `sha256:<hex>` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn malformed_digests_are_refused() {
        assert!(matches!(
            Digest::parse("sha512:ab"),
            Err(DigestError::Algorithm(_))
        ));
        assert!(matches!(
            Digest::parse("sha256:xyz"),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            Digest::parse("e3b0"),
            Err(DigestError::Malformed(_))
        ));
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(Digest::parse(&upper).is_err());
    }
}
