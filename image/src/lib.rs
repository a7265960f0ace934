//! hoist: berth's image tool. Pulls images from OCI registries into a verified
//! content-addressed store, unpacks layers safely, and turns images into bundles.

pub mod archive;
pub mod bundle;
pub mod digest;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod registry;
pub mod rootfs;
pub mod run;
pub mod store;
pub mod unpack;
