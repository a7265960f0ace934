//! Container ids become directory names, so they must be plain names.

use super::Error;

/// Accepts ids made of letters, digits and `_ + - .`, not `.` or `..`,
/// at most 1024 bytes (what runc accepts).
pub fn check_id(id: &str) -> Result<(), Error> {
    let bad = |why| Err(Error::BadId(id.to_string(), why));
    if id.is_empty() {
        return bad("it is empty");
    }
    if id == "." || id == ".." {
        return bad("it is a relative path component");
    }
    if id.contains('/') {
        return bad("it contains '/'");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
    {
        return bad("only letters, digits and _ + - . are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn accepts_plain_ids_rejects_paths() {
        assert!(check_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "ä"] {
            assert!(check_id(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            check_id("a/b").unwrap_err().to_string(),
            "container id \"a/b\" is not valid: it contains '/'"
        );
    }
}
