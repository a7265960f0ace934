//! Signal names as users and managers write them: `TERM`, `SIGTERM`, `15`,
//! `RTMIN+3`.

use nix::sys::signal::Signal;

/// Parses a signal given by name (with or without `SIG`, any case) or number.
pub fn parse(s: &str) -> Result<i32, String> {
    let bad = || format!("signal \"{s}\" is unknown");
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off = if rt.is_empty() {
            0
        } else {
            rt.strip_prefix('+')
                .and_then(|n| n.parse::<i32>().ok())
                .ok_or_else(bad)?
        };
        let n = libc::SIGRTMIN() + off;
        return if n <= libc::SIGRTMAX() {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    if let Some(rt) = name.strip_prefix("RTMAX") {
        let off = if rt.is_empty() {
            0
        } else {
            rt.strip_prefix('-')
                .and_then(|n| n.parse::<i32>().ok())
                .ok_or_else(bad)?
        };
        let n = libc::SIGRTMAX() - off;
        return if n >= libc::SIGRTMIN() {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let full = format!("SIG{name}");
    full.parse::<Signal>().map(|s| s as i32).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_numbers_and_realtime() {
        assert_eq!(parse("TERM"), Ok(15));
        assert_eq!(parse("SIGKILL"), Ok(9));
        assert_eq!(parse("sigusr1"), Ok(10));
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("RTMIN"), Ok(libc::SIGRTMIN()));
        assert_eq!(parse("SIGRTMIN+3"), Ok(libc::SIGRTMIN() + 3));
        assert_eq!(parse("RTMAX-1"), Ok(libc::SIGRTMAX() - 1));
        assert_eq!(parse("FOO").unwrap_err(), "signal \"FOO\" is unknown");
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
    }
}
