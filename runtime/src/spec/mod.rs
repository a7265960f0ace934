//! Reading and checking `config.json`: every problem is reported once, with
//! the JSON path and value that caused it, before anything touches the system.

mod default;
mod load;
pub mod validate;

pub use default::default_spec_json;
pub use load::{load, parse};
pub use validate::{validate, ValidateOptions};

use std::fmt;

/// A problem with a bundle's configuration, worded for the user:
/// `config.json: process.rlimits[1].type "RLIMIT_FOO" is unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Which file the problem is in (usually `config.json`).
    pub file: String,
    /// What is wrong, naming the field and the value.
    pub message: String,
}

impl SpecError {
    /// A problem with `config.json`.
    pub fn config(message: impl Into<String>) -> Self {
        SpecError {
            file: "config.json".into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for SpecError {}
