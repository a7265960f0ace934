//! CPU and NUMA node lists as the kernel writes them: `0-3,7`.

use super::ProcessError;

/// Parses a list like `0-3,7` into sorted, unique numbers.
pub fn parse(field: &str, s: &str) -> Result<Vec<usize>, ProcessError> {
    let bad = || ProcessError(format!("{field} \"{s}\" is not a list like 0-3,7"));
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a > b || b >= 8192 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn ranges_and_singles() {
        assert_eq!(parse("f", "0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse("f", "1, 1,0").unwrap(), vec![0, 1]);
        assert_eq!(parse("f", "").unwrap(), Vec::<usize>::new());
        assert_eq!(
            parse("process.execCPUAffinity.initial", "3-1")
                .unwrap_err()
                .to_string(),
            "process.execCPUAffinity.initial \"3-1\" is not a list like 0-3,7"
        );
        assert!(parse("f", "a").is_err());
    }
}
