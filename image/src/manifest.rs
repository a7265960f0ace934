//! Image manifests, indexes and configs (OCI and Docker schema 2), and platform choice.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip layer media type.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The `Accept` header for manifest requests.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Platform, for index entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OS/architecture pair.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `v7` for arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this binary runs on, in Go's names.
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            architecture: arch.into(),
            os: "linux".into(),
            variant: None,
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Self, ManifestError> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => Ok(Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: Some((*v).into()),
            }),
            _ => Err(ManifestError::PlatformSyntax(s.into())),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// Media type, if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The image config blob.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index / manifest list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// Media type, if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The entries.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What a registry answered for a manifest request.
#[derive(Debug)]
pub enum Fetched {
    /// A single-platform image manifest.
    Manifest(Manifest),
    /// An index to choose a platform from.
    Index(Index),
}

/// The parts of an image config hoist uses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Architecture.
    #[serde(default)]
    pub architecture: String,
    /// OS.
    #[serde(default)]
    pub os: String,
    /// Runtime defaults.
    #[serde(default)]
    pub config: Option<RunConfig>,
    /// Layer diff-ids.
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

/// The `config` member of an image config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// `user[:group]`.
    #[serde(default)]
    pub user: Option<String>,
    /// `KEY=value` entries.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Entrypoint.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// Working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal.
    #[serde(default)]
    pub stop_signal: Option<String>,
}

/// The diff-ids of an image's layers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// `layers`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// One per layer, bottom first: digests of the uncompressed tars.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

/// Problems with manifests.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Docker schema 1 is obsolete.
    #[error("{0}: is a Docker schema 1 manifest, which hoist does not support (re-push the image with a current docker or skopeo)")]
    Schema1(String),
    /// Unknown media type.
    #[error("{0}: unsupported manifest media type {1:?}")]
    MediaType(String, String),
    /// JSON did not parse.
    #[error("{0}: manifest is not valid JSON: {1}")]
    Json(String, serde_json::Error),
    /// No platform matched.
    #[error("{0}: no image for platform {1} (available: {2})")]
    NoPlatform(String, Platform, String),
    /// Bad `--platform`.
    #[error("platform {0:?}: expected os/arch[/variant], e.g. linux/amd64")]
    PlatformSyntax(String),
    /// Unknown layer media type.
    #[error("layer {0}: unsupported media type {1:?}")]
    LayerType(Digest, String),
}

/// Decides what a manifest body is, from the Content-Type and the body's own `mediaType`.
pub fn classify(
    what: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Fetched, ManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        schema_version: Option<u32>,
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let peek: Peek =
        serde_json::from_slice(body).map_err(|e| ManifestError::Json(what.into(), e))?;
    let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string());
    let mt = peek.media_type.or(ct).unwrap_or_default();
    if peek.schema_version == Some(1)
        || mt.starts_with("application/vnd.docker.distribution.manifest.v1")
    {
        return Err(ManifestError::Schema1(what.into()));
    }
    let is_index = match mt.as_str() {
        OCI_INDEX | DOCKER_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        // OCI allows omitting mediaType: tell them apart by shape.
        "" | "application/json" | "application/octet-stream" => peek.manifests.is_some(),
        other => return Err(ManifestError::MediaType(what.into(), other.into())),
    };
    if is_index {
        Ok(Fetched::Index(
            serde_json::from_slice(body).map_err(|e| ManifestError::Json(what.into(), e))?,
        ))
    } else {
        Ok(Fetched::Manifest(
            serde_json::from_slice(body).map_err(|e| ManifestError::Json(what.into(), e))?,
        ))
    }
}

/// Picks the index entry for `want`; a missing variant in `want` matches any variant.
pub fn choose_platform<'a>(
    what: &str,
    index: &'a Index,
    want: &Platform,
) -> Result<&'a Descriptor, ManifestError> {
    let matches = |p: &Platform| {
        p.os == want.os
            && p.architecture == want.architecture
            && (want.variant.is_none() || p.variant == want.variant)
    };
    index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(matches))
        .ok_or_else(|| {
            let avail: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                .collect();
            ManifestError::NoPlatform(what.into(), want.clone(), avail.join(", "))
        })
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// The compression a layer media type declares.
pub fn layer_compression(d: &Descriptor) -> Result<Compression, ManifestError> {
    let mt = d.media_type.as_str();
    if mt.ends_with("+gzip")
        || mt.ends_with(".tar.gzip")
        || mt == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    {
        Ok(Compression::Gzip)
    } else if mt.ends_with("+zstd") {
        Ok(Compression::Zstd)
    } else if mt.ends_with(".tar") || mt == "application/vnd.docker.image.rootfs.diff.tar" {
        Ok(Compression::None)
    } else {
        Err(ManifestError::LayerType(d.digest.clone(), mt.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: char, plat: &str) -> String {
        let p = Platform::parse(plat).expect("platform");
        format!(
            r#"{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":1,"platform":{}}}"#,
            n.to_string().repeat(64),
            serde_json::to_string(&p).expect("json")
        )
    }

    #[test]
    fn index_entry_is_chosen_by_platform() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{},{},{}]}}"#,
            d('a', "linux/arm/v7"),
            d('b', "linux/amd64"),
            d('c', "linux/arm64/v8")
        );
        let Fetched::Index(ix) = classify("x", None, body.as_bytes()).expect("index") else {
            panic!("not an index")
        };
        let pick = |p: &str| {
            choose_platform("x", &ix, &Platform::parse(p).expect("p"))
                .map(|d| d.digest.hex()[..1].to_string())
        };
        assert_eq!(pick("linux/amd64").expect("amd64"), "b");
        assert_eq!(pick("linux/arm64").expect("arm64"), "c");
        assert_eq!(pick("linux/arm/v7").expect("arm"), "a");
        let err = pick("linux/s390x").expect_err("none").to_string();
        assert!(
            err.contains("linux/s390x") && err.contains("linux/amd64"),
            "{err}"
        );
    }

    #[test]
    fn schema1_is_refused_clearly() {
        let e = classify("r", None, br#"{"schemaVersion":1,"name":"x"}"#).expect_err("schema1");
        assert!(e.to_string().contains("schema 1"));
    }

    #[test]
    fn manifest_without_media_type_is_read_by_shape() {
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","digest":"sha256:{}","size":2}},"layers":[]}}"#,
            "e".repeat(64)
        );
        assert!(matches!(
            classify("r", None, body.as_bytes()),
            Ok(Fetched::Manifest(_))
        ));
    }

    #[test]
    fn layer_media_types_map_to_compression() {
        let mk = |mt: &str| Descriptor {
            media_type: mt.into(),
            digest: Digest::of(b""),
            size: 0,
            platform: None,
            annotations: Default::default(),
        };
        assert_eq!(
            layer_compression(&mk(OCI_LAYER_GZIP)).ok(),
            Some(Compression::Gzip)
        );
        assert_eq!(
            layer_compression(&mk("application/vnd.oci.image.layer.v1.tar+zstd")).ok(),
            Some(Compression::Zstd)
        );
        assert_eq!(
            layer_compression(&mk("application/vnd.oci.image.layer.v1.tar")).ok(),
            Some(Compression::None)
        );
        assert_eq!(
            layer_compression(&mk("application/vnd.docker.image.rootfs.diff.tar.gzip")).ok(),
            Some(Compression::Gzip)
        );
        assert!(layer_compression(&mk("text/plain")).is_err());
    }
}
