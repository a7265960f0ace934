//! v1 `devices.allow` / `devices.deny`: one write per rule, in order, on
//! one open file each (the kernel handles every write separately).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use super::Rule;
use crate::cgroups::CgroupError;

/// Writes the rules in order.
pub fn apply(dir: &Path, rules: &[Rule]) -> Result<(), CgroupError> {
    let open = |name: &str| {
        OpenOptions::new()
            .write(true)
            .open(dir.join(name))
            .map_err(|e| {
                CgroupError(format!(
                    "linux.resources.devices: opening {}: {e}",
                    dir.join(name).display()
                ))
            })
    };
    let mut allow = open("devices.allow")?;
    let mut deny = open("devices.deny")?;
    for rule in rules {
        let line = rule.v1_line();
        let (file, name) = if rule.allow {
            (&mut allow, "devices.allow")
        } else {
            (&mut deny, "devices.deny")
        };
        file.write(line.as_bytes()).map_err(|e| {
            CgroupError(format!(
                "linux.resources.devices: writing {line:?} to {}: {e}",
                dir.join(name).display()
            ))
        })?;
    }
    Ok(())
}
