//! Pushing a stored image: blobs (mounted from the source repository when the
//! registry allows), then the manifest.

use crate::manifest::{Descriptor, Manifest};
use crate::pull::PullOptions;
use crate::reference::Reference;
use crate::registry::Client;
use crate::store::Store;

/// Pushes `desc` to `dest`; `source` (the image's own name) enables cross-repository
/// mounts on the same registry. Returns the manifest digest and one line per blob.
pub fn push(
    store: &Store,
    desc: &Descriptor,
    source: Option<&Reference>,
    dest: &Reference,
    opts: &PullOptions,
) -> Result<Vec<String>, crate::pull::PullError> {
    let endpoint = opts.registries.resolve(&dest.registry);
    let client = Client::new(&endpoint, &dest.repository, &opts.client)?;
    let body = store.read_blob(&desc.digest)?;
    let m: Manifest =
        match crate::manifest::classify(&dest.to_string(), Some(&desc.media_type), &body)? {
            crate::manifest::Fetched::Manifest(m) => m,
            crate::manifest::Fetched::Index(_) => {
                return Err(crate::manifest::ManifestError::MediaType(
                    dest.to_string(),
                    "image indexes cannot be pushed yet".into(),
                )
                .into())
            }
        };
    let mount_from = source
        .filter(|s| s.registry == dest.registry)
        .map(|s| s.repository.as_str());
    let mut lines = Vec::new();
    for d in m.layers.iter().chain(std::iter::once(&m.config)) {
        let how = client.push_blob(store, d, mount_from)?;
        lines.push(format!("{how} {}", d.digest));
    }
    client.put_manifest(&dest.manifest_key(), &desc.media_type, &body)?;
    Ok(lines)
}
