//! Turning a stored image into a root filesystem: flattened into a directory, or as
//! an overlay of unpacked layers cached by diff-id under `<root>/layers/`.

use crate::digest::Digest;
use crate::manifest::{self, ImageConfig, Manifest};
use crate::store::{Store, StoreError};
use crate::unpack::{self, ApplyOptions, Target, UnpackError};
use std::path::{Path, PathBuf};

/// Rootfs failures.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// The store could not give what was needed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A layer did not apply.
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// The config's diff-ids do not match the layers.
    #[error("image config lists {0} diff-ids for {1} layers")]
    DiffIds(usize, usize),
    /// A filesystem operation failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

fn diff_ids(m: &Manifest, c: &ImageConfig) -> Result<Vec<Digest>, RootfsError> {
    let ids = c.rootfs.clone().unwrap_or_default().diff_ids;
    if ids.len() != m.layers.len() {
        return Err(RootfsError::DiffIds(ids.len(), m.layers.len()));
    }
    Ok(ids)
}

fn apply(
    store: &Store,
    layer: &manifest::Descriptor,
    dest: &Path,
    opts: &ApplyOptions,
) -> Result<(), RootfsError> {
    let comp = manifest::layer_compression(layer)?;
    let f = store.open_blob(&layer.digest)?;
    let name = format!("layer {}", layer.digest);
    let r = unpack::decompress(f, comp).map_err(|err| UnpackError::Read {
        layer: name.clone(),
        err,
    })?;
    unpack::apply_layer(dest, r, &name, opts)?;
    Ok(())
}

/// Applies every layer of the image, in order, onto `dest` (created if missing).
pub fn flatten(
    store: &Store,
    m: &Manifest,
    c: &ImageConfig,
    dest: &Path,
) -> Result<(), RootfsError> {
    let ids = diff_ids(m, c)?;
    std::fs::create_dir_all(dest).map_err(|e| RootfsError::Io(dest.into(), e))?;
    for (l, id) in m.layers.iter().zip(ids) {
        let opts = ApplyOptions {
            diff_id: Some(id),
            ..Default::default()
        };
        apply(store, l, dest, &opts)?;
    }
    Ok(())
}

/// Unpacks each layer once into `<root>/layers/<diff-id hex>` (overlay format);
/// returns the directories bottom first.
pub fn cached_layers(
    store: &Store,
    m: &Manifest,
    c: &ImageConfig,
) -> Result<Vec<PathBuf>, RootfsError> {
    let _gc = store.lock("gc.lock", false)?;
    let ids = diff_ids(m, c)?;
    let mut done: Vec<PathBuf> = Vec::new();
    for (l, id) in m.layers.iter().zip(ids) {
        let dir = store.root().join("layers").join(id.hex());
        if !dir.exists() {
            let tmp =
                store
                    .root()
                    .join("tmp")
                    .join(format!("layer-{}-{}", std::process::id(), id.hex()));
            let _ = unpack::remove_tree(&tmp);
            std::fs::create_dir(&tmp).map_err(|e| RootfsError::Io(tmp.clone(), e))?;
            let lowers = done.iter().rev().cloned().collect();
            let opts = ApplyOptions {
                mode: Target::Overlay,
                lowers,
                diff_id: Some(id.clone()),
                ..Default::default()
            };
            let res = apply(store, l, &tmp, &opts).and_then(|()| {
                // Another hoist may have finished the same layer first: keep theirs.
                match std::fs::rename(&tmp, &dir) {
                    Ok(()) => Ok(()),
                    Err(_) if dir.exists() => Ok(()),
                    Err(e) => Err(RootfsError::Io(dir.clone(), e)),
                }
            });
            let _ = unpack::remove_tree(&tmp);
            res?;
        }
        done.push(dir);
    }
    Ok(done)
}

/// Mounts an overlay of `layers` (bottom first) on `target`, with its upper and
/// work directories under `state`.
pub fn mount_overlay(layers: &[PathBuf], state: &Path, target: &Path) -> Result<(), RootfsError> {
    let upper = state.join("upper");
    let work = state.join("work");
    for d in [&upper, &work, &target.to_path_buf()] {
        std::fs::create_dir_all(d).map_err(|e| RootfsError::Io(d.clone(), e))?;
    }
    let lower = overlay_lowers(layers);
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    let data = std::ffi::CString::new(opts)
        .map_err(|e| RootfsError::Io(target.into(), std::io::Error::other(e)))?;
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        rustix::mount::MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .map_err(|e| {
        RootfsError::Io(
            target.into(),
            std::io::Error::from_raw_os_error(e.raw_os_error()),
        )
    })
}

/// The `lowerdir` list (top first) for layers given bottom first. A layer repeated in
/// an image (empty layers often are) is kept only at its topmost place: overlayfs
/// refuses a directory twice, and re-applying a layer on top supersedes its lower copy.
pub fn overlay_lowers(layers: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in layers.iter().rev() {
        let s = p.display().to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Unmounts an overlay made by [`mount_overlay`] (lazily, so a lingering process cannot block cleanup).
pub fn unmount(target: &Path) -> Result<(), RootfsError> {
    rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH).map_err(|e| {
        RootfsError::Io(
            target.into(),
            std::io::Error::from_raw_os_error(e.raw_os_error()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_layers_appear_once_at_their_topmost_place() {
        let l = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(overlay_lowers(&l(&["a", "e", "b", "e"])), ["e", "b", "a"]);
        assert_eq!(overlay_lowers(&l(&["a"])), ["a"]);
    }
}
