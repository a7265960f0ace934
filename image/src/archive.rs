//! `save` and `load`: oci-archive (a tarred OCI layout) and docker-archive
//! (`manifest.json` + config + uncompressed layer tars, as `docker save` writes).

use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Fetched, Manifest, Platform};
use crate::reference::Reference;
use crate::store::{Store, StoreError, REF_NAME};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A tarred OCI image layout.
    OciArchive,
    /// `docker save` format.
    DockerArchive,
}

/// Archive failures.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Store trouble.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the archive.
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    /// The archive's contents do not make an image.
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
    /// A manifest problem.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// Unpacking a layer to recompute its diff.
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
}

fn append(
    b: &mut tar::Builder<impl Write>,
    path: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    b.append_data(&mut h, path, data)
}

fn familiar(name: &str) -> String {
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
        .to_string()
}

/// Writes `images` (stored descriptors) to `out` in `format`.
pub fn save(
    store: &Store,
    images: &[Descriptor],
    out: &Path,
    format: Format,
) -> Result<(), ArchiveError> {
    let tmp = out.with_extension(format!("tmp-{}", std::process::id()));
    let res = (|| -> Result<(), ArchiveError> {
        let f = std::fs::File::create(&tmp).map_err(|e| ArchiveError::Io(tmp.clone(), e))?;
        let mut b = tar::Builder::new(io::BufWriter::new(f));
        let io_err = |e: io::Error| ArchiveError::Io(out.to_path_buf(), e);
        match format {
            Format::OciArchive => {
                let mut written = std::collections::HashSet::new();
                let mut entries = Vec::new();
                for d in images {
                    let mut blobs = std::collections::HashSet::new();
                    store.reachable(d, &mut blobs)?;
                    let mut blobs: Vec<_> = blobs.into_iter().collect();
                    blobs.sort();
                    for bd in blobs {
                        if written.insert(bd.clone()) {
                            let f = store.open_blob(&bd)?;
                            let size = f.metadata().map_err(io_err)?.len();
                            append(&mut b, &format!("blobs/sha256/{}", bd.hex()), size, f)
                                .map_err(io_err)?;
                        }
                    }
                    entries.push(d.clone());
                }
                let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
                append(&mut b, "oci-layout", layout.len() as u64, &layout[..]).map_err(io_err)?;
                let ix = manifest::Index {
                    schema_version: 2,
                    media_type: Some(manifest::OCI_INDEX.into()),
                    manifests: entries,
                    annotations: BTreeMap::new(),
                };
                let data = serde_json::to_vec(&ix)
                    .map_err(|e| ArchiveError::Invalid(out.into(), e.to_string()))?;
                append(&mut b, "index.json", data.len() as u64, &data[..]).map_err(io_err)?;
            }
            Format::DockerArchive => {
                let mut list = Vec::new();
                let mut written = std::collections::HashSet::new();
                for d in images {
                    let (m, cfg) = store.image(d)?;
                    let ids = cfg.rootfs.clone().unwrap_or_default().diff_ids;
                    if ids.len() != m.layers.len() {
                        return Err(ArchiveError::Invalid(
                            out.into(),
                            format!(
                                "image {}: config lists {} diff-ids for {} layers",
                                d.digest,
                                ids.len(),
                                m.layers.len()
                            ),
                        ));
                    }
                    let cfg_name = format!("{}.json", m.config.digest.hex());
                    if written.insert(cfg_name.clone()) {
                        let f = store.open_blob(&m.config.digest)?;
                        append(&mut b, &cfg_name, m.config.size, f).map_err(io_err)?;
                    }
                    let mut layers = Vec::new();
                    for (l, id) in m.layers.iter().zip(&ids) {
                        let name = format!("{}/layer.tar", id.hex());
                        if written.insert(name.clone()) {
                            // docker-archive layers are uncompressed; decompress into a temp file to learn the size.
                            let mut t = tempfile_in(store)?;
                            let mut r = crate::unpack::decompress(
                                store.open_blob(&l.digest)?,
                                manifest::layer_compression(l)?,
                            )
                            .map_err(io_err)?;
                            let size = io::copy(&mut r, &mut t.1).map_err(io_err)?;
                            use std::io::Seek;
                            t.1.seek(io::SeekFrom::Start(0)).map_err(io_err)?;
                            append(&mut b, &name, size, &mut t.1).map_err(io_err)?;
                            let _ = std::fs::remove_file(&t.0);
                        }
                        layers.push(name);
                    }
                    let tags: Vec<String> = d
                        .annotations
                        .get(REF_NAME)
                        .map(|n| familiar(n))
                        .into_iter()
                        .collect();
                    list.push(
                        serde_json::json!({"Config": cfg_name, "RepoTags": tags, "Layers": layers}),
                    );
                }
                let data = serde_json::to_vec(&list)
                    .map_err(|e| ArchiveError::Invalid(out.into(), e.to_string()))?;
                append(&mut b, "manifest.json", data.len() as u64, &data[..]).map_err(io_err)?;
            }
        }
        let w = b.into_inner().map_err(io_err)?;
        let f = w
            .into_inner()
            .map_err(|e| ArchiveError::Io(out.into(), e.into_error()))?;
        f.sync_all().map_err(io_err)?;
        std::fs::rename(&tmp, out).map_err(io_err)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn tempfile_in(store: &Store) -> Result<(PathBuf, std::fs::File), ArchiveError> {
    let p = store.root().join("tmp").join(format!(
        "save-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let f = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&p)
        .map_err(|e| ArchiveError::Io(p.clone(), e))?;
    Ok((p, f))
}

/// Loads every image of an archive (either format, detected from its contents);
/// returns the names recorded.
pub fn load(store: &Store, input: &Path) -> Result<Vec<String>, ArchiveError> {
    load_inner(store, input).map_err(|e| match e {
        ArchiveError::Io(..) | ArchiveError::Invalid(..) => e,
        other => ArchiveError::Invalid(input.into(), other.to_string()),
    })
}

fn load_inner(store: &Store, input: &Path) -> Result<Vec<String>, ArchiveError> {
    let _gc = store.lock("gc.lock", false)?;
    let bad = |m: String| ArchiveError::Invalid(input.into(), m);
    let f = std::fs::File::open(input).map_err(|e| ArchiveError::Io(input.into(), e))?;
    let mut ar = tar::Archive::new(io::BufReader::new(f));
    let mut small: HashMap<String, Vec<u8>> = HashMap::new();
    let mut files: HashMap<String, (Digest, u64)> = HashMap::new();
    for e in ar
        .entries()
        .map_err(|e| ArchiveError::Io(input.into(), e))?
    {
        let mut e = e.map_err(|e| ArchiveError::Io(input.into(), e))?;
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = crate::unpack::paths::join(&crate::unpack::paths::clean(
            &e.path().map_err(|e| ArchiveError::Io(input.into(), e))?,
        ))
        .display()
        .to_string();
        if name.ends_with(".json") || name == "oci-layout" || name == "repositories" {
            let mut v = Vec::new();
            e.by_ref()
                .take(16 << 20)
                .read_to_end(&mut v)
                .map_err(|e| ArchiveError::Io(input.into(), e))?;
            small.insert(name, v);
            continue;
        }
        // Blobs named by digest are checked against it; other files get their digest computed.
        let expected = name
            .strip_prefix("blobs/sha256/")
            .and_then(|h| Digest::parse(&format!("sha256:{h}")).ok());
        let size = e
            .header()
            .size()
            .map_err(|e| ArchiveError::Io(input.into(), e))?;
        let d = crate::store::copy_into(store, &mut e, expected.as_ref(), Some(size))?;
        files.insert(name, (d, size));
    }
    let mut names = Vec::new();
    if let Some(ix) = small.get("index.json") {
        let ix: manifest::Index =
            serde_json::from_slice(ix).map_err(|e| bad(format!("index.json: {e}")))?;
        for (i, d) in ix.manifests.iter().enumerate() {
            let d = match crate::manifest::classify(
                "index.json",
                Some(&d.media_type),
                &store.read_blob(&d.digest)?,
            )? {
                Fetched::Manifest(_) => d.clone(),
                Fetched::Index(inner) => {
                    crate::manifest::choose_platform("index.json", &inner, &Platform::host())?
                        .clone()
                }
            };
            let (m, _) = store.image(&d)?;
            for l in m.layers.iter().chain(std::iter::once(&m.config)) {
                if !store.has_blob(&l.digest, l.size) {
                    return Err(bad(format!(
                        "index.json manifests[{i}]: blob {} is missing from the archive",
                        l.digest
                    )));
                }
            }
            let raw = d.annotations.get(REF_NAME).cloned().unwrap_or_default();
            let name = archive_name(&raw, input);
            let mut plain = d.clone();
            plain.annotations.clear();
            store.set_image(&name, plain)?;
            names.push(name);
        }
    } else if let Some(mj) = small.get("manifest.json") {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Entry {
            config: String,
            #[serde(default)]
            repo_tags: Option<Vec<String>>,
            layers: Vec<String>,
        }
        let list: Vec<Entry> =
            serde_json::from_slice(mj).map_err(|e| bad(format!("manifest.json: {e}")))?;
        for (i, e) in list.iter().enumerate() {
            let get = |p: &str| {
                files
                    .get(p)
                    .cloned()
                    .ok_or_else(|| bad(format!("manifest.json[{i}]: {p} is not in the archive")))
            };
            let (cd, cs) = match small.get(&e.config) {
                Some(data) => (store.put_blob(data, None)?, data.len() as u64),
                None => get(&e.config)?,
            };
            let mut layers = Vec::new();
            for l in &e.layers {
                let (ld, ls) = get(l)?;
                let mut head = [0u8; 4];
                let n = store.open_blob(&ld)?.read(&mut head).unwrap_or(0);
                let mt = match &head[..n.min(4)] {
                    [0x1f, 0x8b, ..] => manifest::OCI_LAYER_GZIP,
                    [0x28, 0xb5, 0x2f, 0xfd] => "application/vnd.oci.image.layer.v1.tar+zstd",
                    _ => "application/vnd.oci.image.layer.v1.tar",
                };
                layers.push(Descriptor {
                    media_type: mt.into(),
                    digest: ld,
                    size: ls,
                    platform: None,
                    annotations: BTreeMap::new(),
                });
            }
            let m = Manifest {
                schema_version: 2,
                media_type: Some(manifest::OCI_MANIFEST.into()),
                config: Descriptor {
                    media_type: manifest::OCI_CONFIG.into(),
                    digest: cd,
                    size: cs,
                    platform: None,
                    annotations: BTreeMap::new(),
                },
                layers,
                annotations: BTreeMap::new(),
            };
            let body = serde_json::to_vec(&m).map_err(|e| bad(e.to_string()))?;
            let md = store.put_blob(&body, None)?;
            let desc = Descriptor {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: md.clone(),
                size: body.len() as u64,
                platform: None,
                annotations: BTreeMap::new(),
            };
            let tags = e.repo_tags.clone().unwrap_or_default();
            if tags.is_empty() {
                names.push(md.to_string());
                store.set_image(md.as_str(), desc.clone())?;
            }
            for t in tags {
                let name = Reference::parse(&t)
                    .map_err(|err| bad(format!("manifest.json[{i}].RepoTags: {err}")))?
                    .to_string();
                store.set_image(&name, desc.clone())?;
                names.push(name);
            }
        }
    } else {
        return Err(bad(
            "neither index.json (oci-archive) nor manifest.json (docker-archive) in the archive"
                .into(),
        ));
    }
    Ok(names)
}

/// The store name for an oci-archive entry's `ref.name`: a full reference is kept;
/// a bare tag (what skopeo writes) becomes `localhost/<archive name>:<tag>`.
fn archive_name(raw: &str, input: &Path) -> String {
    if raw.contains('/') {
        if let Ok(r) = Reference::parse(raw) {
            return r.to_string();
        }
    }
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "image".into());
    let stem: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let stem = stem.trim_matches('-');
    let tag = if raw.is_empty() { "latest" } else { raw };
    format!(
        "localhost/{}:{tag}",
        if stem.is_empty() { "image" } else { stem }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_keep_full_references_and_qualify_bare_tags() {
        assert_eq!(
            archive_name("docker.io/library/busybox:1", Path::new("x.tar")),
            "docker.io/library/busybox:1"
        );
        assert_eq!(
            archive_name("v1", Path::new("/tmp/My App.tar")),
            "localhost/my-app:v1"
        );
        assert_eq!(archive_name("", Path::new("a.tar")), "localhost/a:latest");
        assert_eq!(familiar("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(familiar("127.0.0.1:5000/x/y:2"), "127.0.0.1:5000/x/y:2");
    }
}
