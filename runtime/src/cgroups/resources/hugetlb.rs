//! `linux.resources.hugepageLimits`.

use oci_spec::runtime::LinuxHugepageLimit;

use super::Write;
use crate::cgroups::CgroupError;

/// A page size as the kernel names it in hugetlb files: digits then KB, MB or GB.
fn valid_page_size(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB")
}

/// `hugetlb.<size>.limit_in_bytes` (v1) or `hugetlb.<size>.max` (v2).
pub fn plan(
    limits: &[LinuxHugepageLimit],
    v2: bool,
    w: &mut Vec<Write>,
) -> Result<(), CgroupError> {
    for (i, l) in limits.iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let size = l.page_size();
        if !valid_page_size(size) {
            return Err(CgroupError(format!(
                "{field}.pageSize {size:?} is not a page size like \"2MB\" or \"1GB\""
            )));
        }
        let limit = l.limit();
        if limit < -1 {
            return Err(CgroupError(format!(
                "{field}.limit {limit} is out of range"
            )));
        }
        let (file, value) = if v2 {
            (
                format!("hugetlb.{size}.max"),
                if limit == -1 {
                    "max".into()
                } else {
                    limit.to_string()
                },
            )
        } else {
            (format!("hugetlb.{size}.limit_in_bytes"), limit.to_string())
        };
        w.push(Write::set("hugetlb", format!("{field}.limit"), file, value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_sizes_look_like_the_kernels() {
        assert!(super::valid_page_size("2MB"));
        assert!(super::valid_page_size("1GB"));
        assert!(super::valid_page_size("64KB"));
        assert!(!super::valid_page_size("2M"));
        assert!(!super::valid_page_size("MB"));
        assert!(!super::valid_page_size("../2MB"));
    }
}
