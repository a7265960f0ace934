//! Pulling an image: manifest (choosing a platform from an index), config and
//! layers fetched concurrently into the store, then the name recorded.

use crate::manifest::{self, Descriptor, Fetched, Platform};
use crate::reference::Reference;
use crate::registry::config::RegistryConfig;
use crate::registry::{Client, ClientOptions, RegistryError};
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Pull failures.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// Registry trouble.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Manifest trouble.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// Store trouble.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Platform to choose from an index.
    pub platform: Platform,
    /// Concurrent layer downloads.
    pub jobs: usize,
    /// Connection settings.
    pub client: ClientOptions,
    /// Mirrors and insecure registries.
    pub registries: RegistryConfig,
    /// Progress display.
    pub progress: crate::progress::Style,
}

/// Pulls `r` into `store`; returns the manifest descriptor recorded under its name.
pub fn pull(store: &Store, r: &Reference, opts: &PullOptions) -> Result<Descriptor, PullError> {
    // Shared: blobs fetched here are not yet referenced, and prune must not take them.
    let _gc = store.lock("gc.lock", false)?;
    let endpoint = opts.registries.resolve(&r.registry);
    let client = Client::new(&endpoint, &r.repository, &opts.client)?;
    let what = r.to_string();
    let (body, ct, digest) = client.manifest(&r.manifest_key())?;
    let (body, media_type, digest, m) = match manifest::classify(&what, ct.as_deref(), &body)? {
        Fetched::Manifest(m) => (
            body,
            m.media_type
                .clone()
                .or(ct)
                .unwrap_or_else(|| manifest::OCI_MANIFEST.into()),
            digest,
            m,
        ),
        Fetched::Index(ix) => {
            let d = manifest::choose_platform(&what, &ix, &opts.platform)?;
            let (body, ct, digest) = client.manifest(d.digest.as_str())?;
            match manifest::classify(&what, ct.as_deref().or(Some(&d.media_type)), &body)? {
                Fetched::Manifest(m) => (body, d.media_type.clone(), digest, m),
                Fetched::Index(_) => {
                    return Err(
                        manifest::ManifestError::MediaType(what, "nested index".into()).into(),
                    )
                }
            }
        }
    };
    for l in &m.layers {
        manifest::layer_compression(l)?;
    }
    let mut blobs: Vec<Descriptor> = vec![m.config.clone()];
    blobs.extend(m.layers.iter().cloned());
    fetch_all(store, &client, &blobs, opts)?;
    store.put_blob(&body, Some(&digest))?;
    let desc = Descriptor {
        media_type,
        digest,
        size: body.len() as u64,
        platform: Some(opts.platform.clone()),
        annotations: Default::default(),
    };
    store.set_image(&what, desc.clone())?;
    Ok(desc)
}

/// Downloads `blobs` with up to `opts.jobs` threads; the first failure stops the rest.
fn fetch_all(
    store: &Store,
    client: &Client,
    blobs: &[Descriptor],
    opts: &PullOptions,
) -> Result<(), PullError> {
    let queue = Mutex::new(blobs.iter().collect::<Vec<_>>());
    let failed = AtomicBool::new(false);
    let first_err: Mutex<Option<RegistryError>> = Mutex::new(None);
    let bars = crate::progress::Bars::new(opts.progress);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, 16).min(blobs.len().max(1)) {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let Some(d) = queue.lock().ok().and_then(|mut q| {
                    if q.is_empty() {
                        None
                    } else {
                        Some(q.remove(0))
                    }
                }) else {
                    return;
                };
                let bar = bars.start(d);
                match client.fetch_blob(store, d, &|n| bar.set(n)) {
                    Ok(fetched) => bar.finish(fetched),
                    Err(e) => {
                        bar.fail();
                        failed.store(true, Ordering::Relaxed);
                        if let Ok(mut g) = first_err.lock() {
                            g.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    match first_err.into_inner().ok().flatten() {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
