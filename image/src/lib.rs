//! hoist: berth's image tool. Pulls images from OCI registries into a verified
//! content-addressed store, unpacks layers safely, and turns images into bundles.

pub mod digest;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;
