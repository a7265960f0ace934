//! The registry client (OCI distribution spec): manifests, blobs, uploads, auth.

pub mod auth;
pub mod client;
pub mod config;

pub use client::{Client, ClientOptions, RegistryError};
