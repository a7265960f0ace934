//! The image store: one OCI image layout under a root directory.
//!
//! Blobs are written to `tmp/`, checked against their digest and size, fsynced and
//! renamed into `blobs/sha256/`, so a crash never leaves a half blob under its name.
//! `index.json` is rewritten the same way under an exclusive lock on `index.lock`;
//! pulls hold `gc.lock` shared and `prune` holds it exclusive, so a prune never
//! deletes blobs a concurrent pull has fetched but not yet recorded.

use crate::digest::Digest;
use crate::manifest::{Descriptor, Fetched, ImageConfig, Index, Manifest, OCI_INDEX};
use rustix::fs::{flock, FlockOperation};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The annotation naming an image in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a path.
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    /// A blob's content did not match its digest.
    #[error("blob {expected}: content has digest {actual} ({size} bytes), refusing it")]
    DigestMismatch {
        /// What was asked for.
        expected: Digest,
        /// What arrived.
        actual: Digest,
        /// Bytes that arrived.
        size: u64,
    },
    /// A blob's size did not match its descriptor.
    #[error("blob {0}: expected {1} bytes, got {2}")]
    SizeMismatch(Digest, u64, u64),
    /// `index.json` or a stored manifest is unreadable.
    #[error("{0}: {1}")]
    Json(PathBuf, serde_json::Error),
    /// No such image.
    #[error("image {0:?} is not in the store (pull it first)")]
    NoImage(String),
    /// A needed blob is missing.
    #[error("blob {0} is missing from the store")]
    MissingBlob(Digest),
}

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(p.to_path_buf(), e)
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] File);

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) the layout at `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        for d in ["blobs/sha256", "tmp", "layers"] {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let layout = root.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let s = Store {
            root: root.to_path_buf(),
        };
        if !root.join("index.json").exists() {
            let _l = s.lock("index.lock", true)?;
            if !root.join("index.json").exists() {
                s.write_index(&Index {
                    schema_version: 2,
                    media_type: Some(OCI_INDEX.into()),
                    manifests: vec![],
                    annotations: BTreeMap::new(),
                })?;
            }
        }
        Ok(s)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes `name` shared or exclusive (blocking).
    pub fn lock(&self, name: &str, exclusive: bool) -> Result<Lock, StoreError> {
        let p = self.root.join(name);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(io_err(&p))?;
        let op = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        flock(&f, op).map_err(|e| StoreError::Io(p.clone(), e.into()))?;
        Ok(Lock(f))
    }

    /// Where the blob `d` lives.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    /// Whether the blob is stored with the expected size.
    pub fn has_blob(&self, d: &Digest, size: u64) -> bool {
        fs::metadata(self.blob_path(d)).is_ok_and(|m| m.len() == size)
    }

    /// A new temporary file inside the store (same filesystem as the blobs).
    pub fn temp_blob(&self) -> Result<BlobWriter, StoreError> {
        let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let path =
            self.root
                .join("tmp")
                .join(format!("blob-{}-{n}-{}", std::process::id(), nanos()));
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(BlobWriter {
            store: self.clone(),
            path,
            file,
            hasher: Sha256::new(),
            len: 0,
            done: false,
        })
    }

    /// Stores `data`, checking it against `expected` if given.
    pub fn put_blob(&self, data: &[u8], expected: Option<&Digest>) -> Result<Digest, StoreError> {
        let mut w = self.temp_blob()?;
        w.write_all(data).map_err(io_err(&w.path.clone()))?;
        w.commit(expected, Some(data.len() as u64))
    }

    /// Reads a whole blob.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, StoreError> {
        let p = self.blob_path(d);
        fs::read(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::MissingBlob(d.clone())
            } else {
                StoreError::Io(p, e)
            }
        })
    }

    /// Opens a blob for streaming.
    pub fn open_blob(&self, d: &Digest) -> Result<File, StoreError> {
        let p = self.blob_path(d);
        File::open(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::MissingBlob(d.clone())
            } else {
                StoreError::Io(p, e)
            }
        })
    }

    /// Reads `index.json`.
    pub fn read_index(&self) -> Result<Index, StoreError> {
        let p = self.root.join("index.json");
        let data = fs::read(&p).map_err(io_err(&p))?;
        serde_json::from_slice(&data).map_err(|e| StoreError::Json(p, e))
    }

    fn write_index(&self, ix: &Index) -> Result<(), StoreError> {
        let p = self.root.join("index.json");
        let data = serde_json::to_vec_pretty(ix).map_err(|e| StoreError::Json(p.clone(), e))?;
        write_atomic(&p, &data)
    }

    /// Changes `index.json` under the index lock.
    pub fn update_index<T>(&self, f: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        let _l = self.lock("index.lock", true)?;
        let mut ix = self.read_index()?;
        let r = f(&mut ix);
        self.write_index(&ix)?;
        Ok(r)
    }

    /// Records `desc` (a manifest) under `name`, replacing what had that name.
    pub fn set_image(&self, name: &str, mut desc: Descriptor) -> Result<(), StoreError> {
        desc.annotations.insert(REF_NAME.into(), name.into());
        self.update_index(|ix| {
            ix.manifests
                .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(name));
            ix.manifests.push(desc);
        })
    }

    /// Finds an image by its (normalized) name, or by a manifest digest or a prefix of its hex.
    pub fn find_image(&self, name: &str) -> Result<Descriptor, StoreError> {
        let ix = self.read_index()?;
        let normalized = crate::reference::Reference::parse(name)
            .ok()
            .map(|r| r.to_string());
        let by_name = ix.manifests.iter().find(|d| {
            let n = d.annotations.get(REF_NAME).map(String::as_str);
            n == Some(name) || (normalized.is_some() && n == normalized.as_deref())
        });
        if let Some(d) = by_name {
            return Ok(d.clone());
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.len() >= 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Some(d) = ix
                .manifests
                .iter()
                .find(|d| d.digest.hex().starts_with(hex))
            {
                return Ok(d.clone());
            }
        }
        Err(StoreError::NoImage(name.into()))
    }

    /// Loads an image's manifest (resolving an index entry to the host platform) and config.
    pub fn image(&self, desc: &Descriptor) -> Result<(Manifest, ImageConfig), StoreError> {
        let p = self.blob_path(&desc.digest);
        let body = self.read_blob(&desc.digest)?;
        let fetched =
            crate::manifest::classify(&p.display().to_string(), Some(&desc.media_type), &body)
                .map_err(|e| StoreError::Io(p.clone(), io::Error::other(e.to_string())))?;
        let manifest = match fetched {
            Fetched::Manifest(m) => m,
            Fetched::Index(ix) => {
                let host = crate::manifest::Platform::host();
                let d = crate::manifest::choose_platform(&p.display().to_string(), &ix, &host)
                    .map_err(|e| StoreError::Io(p.clone(), io::Error::other(e.to_string())))?;
                return self.image(d);
            }
        };
        let cp = self.blob_path(&manifest.config.digest);
        let cfg = self.read_blob(&manifest.config.digest)?;
        let config = serde_json::from_slice(&cfg).map_err(|e| StoreError::Json(cp, e))?;
        Ok((manifest, config))
    }

    /// Every blob reachable from `desc` (manifest or index), including itself.
    pub fn reachable(
        &self,
        desc: &Descriptor,
        out: &mut HashSet<Digest>,
    ) -> Result<(), StoreError> {
        out.insert(desc.digest.clone());
        let Ok(body) = self.read_blob(&desc.digest) else {
            return Ok(());
        };
        match crate::manifest::classify("", Some(&desc.media_type), &body) {
            Ok(Fetched::Manifest(m)) => {
                out.insert(m.config.digest.clone());
                out.extend(m.layers.iter().map(|l| l.digest.clone()));
            }
            Ok(Fetched::Index(ix)) => {
                for d in &ix.manifests {
                    self.reachable(d, out)?;
                }
            }
            Err(_) => {}
        }
        Ok(())
    }

    /// Removes blobs, unpacked layers and stale temp files no image needs; returns bytes freed.
    pub fn prune(&self) -> Result<u64, StoreError> {
        let _gc = self.lock("gc.lock", true)?;
        let ix = self.read_index()?;
        let mut keep = HashSet::new();
        let mut diff_ids = HashSet::new();
        for d in &ix.manifests {
            self.reachable(d, &mut keep)?;
            if let Ok((_, cfg)) = self.image(d) {
                diff_ids.extend(
                    cfg.rootfs
                        .unwrap_or_default()
                        .diff_ids
                        .iter()
                        .map(|d| d.hex().to_string()),
                );
            }
        }
        let mut freed = 0;
        let blobs = self.root.join("blobs/sha256");
        for e in fs::read_dir(&blobs).map_err(io_err(&blobs))? {
            let e = e.map_err(io_err(&blobs))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let keep_it = Digest::parse(&format!("sha256:{name}")).is_ok_and(|d| keep.contains(&d));
            if !keep_it {
                freed += e.metadata().map(|m| m.len()).unwrap_or(0);
                fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
            }
        }
        let layers = self.root.join("layers");
        // A layer still mounted as an overlay lower (a running `hoist run`) stays.
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for e in fs::read_dir(&layers).map_err(io_err(&layers))? {
            let e = e.map_err(io_err(&layers))?;
            let in_use = mounts.contains(&e.path().display().to_string());
            if !in_use && !diff_ids.contains(e.file_name().to_string_lossy().as_ref()) {
                crate::unpack::remove_tree(&e.path()).map_err(io_err(&e.path()))?;
            }
        }
        // Exclusive gc lock: no pull is running, so every temp file is stale.
        let tmp = self.root.join("tmp");
        for e in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let _ = crate::unpack::remove_tree(&e.path());
        }
        Ok(freed)
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Writes `data` to `path` via a temp file, fsync and rename, then fsyncs the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().map_or("f".into(), |n| n.to_string_lossy()),
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(io_err(path))
}

/// A blob being written: hashed as it is written, admitted by [`BlobWriter::commit`]
/// only if digest and size match, removed on drop otherwise.
#[derive(Debug)]
pub struct BlobWriter {
    store: Store,
    path: PathBuf,
    file: File,
    hasher: Sha256,
    len: u64,
    done: bool,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Throws away what was written (a server ignored a Range request).
    pub fn reset(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        use std::io::Seek;
        self.file.seek(io::SeekFrom::Start(0))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// The temp file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks digest and size, then fsyncs and renames into place.
    pub fn commit(
        mut self,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<Digest, StoreError> {
        let actual = Digest::from_hasher(std::mem::take(&mut self.hasher));
        if let Some(e) = expected {
            if *e != actual {
                return Err(StoreError::DigestMismatch {
                    expected: e.clone(),
                    actual,
                    size: self.len,
                });
            }
        }
        if let Some(s) = size {
            if s != self.len {
                return Err(StoreError::SizeMismatch(actual, s, self.len));
            }
        }
        self.file.sync_all().map_err(io_err(&self.path))?;
        let dest = self.store.blob_path(&actual);
        fs::rename(&self.path, &dest).map_err(io_err(&dest))?;
        self.done = true;
        let dir = self.store.root.join("blobs/sha256");
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))?;
        Ok(actual)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Copies `r` into a new blob and commits it against `expected`.
pub fn copy_into(
    store: &Store,
    mut r: impl Read,
    expected: Option<&Digest>,
    size: Option<u64>,
) -> Result<Digest, StoreError> {
    let mut w = store.temp_blob()?;
    let p = w.path().to_path_buf();
    io::copy(&mut r, &mut w).map_err(io_err(&p))?;
    w.commit(expected, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampered_blob_is_refused_and_leaves_nothing() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = Store::open(t.path()).expect("open");
        let want = Digest::of(b"good");
        let e = s.put_blob(b"evil", Some(&want)).expect_err("mismatch");
        assert!(e.to_string().contains("refusing"), "{e}");
        assert!(!s.blob_path(&want).exists());
        assert_eq!(fs::read_dir(t.path().join("tmp")).expect("tmp").count(), 0);
        assert_eq!(
            fs::read_dir(t.path().join("blobs/sha256"))
                .expect("blobs")
                .count(),
            0
        );
        let d = s.put_blob(b"good", Some(&want)).expect("good");
        assert_eq!(fs::read(s.blob_path(&d)).expect("read"), b"good");
    }

    #[test]
    fn images_are_named_and_replaced_in_index_json() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = Store::open(t.path()).expect("open");
        let d = |x: &[u8]| Descriptor {
            media_type: crate::manifest::OCI_MANIFEST.into(),
            digest: Digest::of(x),
            size: 1,
            platform: None,
            annotations: Default::default(),
        };
        s.set_image("docker.io/library/busybox:latest", d(b"1"))
            .expect("set");
        s.set_image("docker.io/library/busybox:latest", d(b"2"))
            .expect("set");
        assert_eq!(s.read_index().expect("ix").manifests.len(), 1);
        assert_eq!(
            s.find_image("busybox").expect("find").digest,
            Digest::of(b"2")
        );
        let hex = Digest::of(b"2").hex()[..12].to_string();
        assert!(s.find_image(&hex).is_ok());
        assert!(s.find_image("alpine").is_err());
    }
}
