//! Pure path decisions for tar entries: lexical cleaning and whiteout names.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// The prefix of a whiteout file name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of an opaque-directory marker.
pub const OPAQUE: &str = ".wh..wh..opq";

/// Cleans an entry path to components below the root: `/` and `./` prefixes are
/// dropped and `..` never climbs above the root (as if the rootfs were `/`).
pub fn clean(p: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// What a tar entry's name means for the layer.
#[derive(Debug, PartialEq, Eq)]
pub enum Name<'a> {
    /// An ordinary entry.
    Plain,
    /// `.wh.NAME`: delete NAME from lower layers.
    Whiteout(&'a OsStr),
    /// `.wh..wh..opq`: hide the directory's lower-layer contents.
    Opaque,
}

/// Classifies the last component of an entry.
pub fn classify(last: &OsStr) -> Name<'_> {
    let b = last.as_bytes();
    if b == OPAQUE.as_bytes() {
        Name::Opaque
    } else if let Some(rest) = b.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
        Name::Whiteout(OsStr::from_bytes(rest))
    } else {
        Name::Plain
    }
}

/// Joins components into a relative path string for openat2.
pub fn join(c: &[OsString]) -> std::path::PathBuf {
    if c.is_empty() {
        return ".".into();
    }
    c.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        join(&clean(Path::new(s))).display().to_string()
    }

    #[test]
    fn paths_never_climb_above_the_root() {
        assert_eq!(c("../../etc/passwd"), "etc/passwd");
        assert_eq!(c("/etc/passwd"), "etc/passwd");
        assert_eq!(c("./a/../../b"), "b");
        assert_eq!(c("./"), ".");
        assert_eq!(c("a/./b//c"), "a/b/c");
    }

    #[test]
    fn whiteout_names_are_recognized() {
        assert_eq!(
            classify(OsStr::new(".wh.foo")),
            Name::Whiteout(OsStr::new("foo"))
        );
        assert_eq!(classify(OsStr::new(".wh..wh..opq")), Name::Opaque);
        assert_eq!(classify(OsStr::new("foo.wh.")), Name::Plain);
    }
}
