//! `linux.resources.devices`: the device allow/deny list, written to the v1
//! `devices` controller or compiled to an eBPF program for cgroup v2.

pub mod bpf;
pub mod program;
pub mod v1;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources,
};

use super::{Cgroup, CgroupError, Mode};

/// Device kinds a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every device.
    All,
    /// Character devices.
    Char,
    /// Block devices.
    Block,
}

/// Access bits, with the values the kernel's BPF device context uses.
pub const MKNOD: u32 = 1;
/// Read access.
pub const READ: u32 = 2;
/// Write access.
pub const WRITE: u32 = 4;
/// `rwm`.
pub const ALL_ACCESS: u32 = MKNOD | READ | WRITE;

/// One checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// Which kind of device.
    pub kind: Kind,
    /// The major number, `None` for any.
    pub major: Option<u32>,
    /// The minor number, `None` for any.
    pub minor: Option<u32>,
    /// `MKNOD | READ | WRITE` bits.
    pub access: u32,
}

impl Rule {
    const fn new(
        allow: bool,
        kind: Kind,
        major: Option<u32>,
        minor: Option<u32>,
        access: u32,
    ) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    /// A rule matching every device with every access.
    pub fn is_catch_all(&self) -> bool {
        self.kind == Kind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ALL_ACCESS
    }

    /// The v1 `devices.allow`/`devices.deny` line, e.g. `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", num(self.major), num(self.minor))
    }
}

/// Devices every container may use, after the config's own rules (what
/// runc and crun allow): mknod of anything, and the standard /dev nodes.
pub const DEFAULT_ALLOWED: &[Rule] = &[
    Rule::new(true, Kind::Char, None, None, MKNOD),
    Rule::new(true, Kind::Block, None, None, MKNOD),
    Rule::new(true, Kind::Char, Some(1), Some(3), ALL_ACCESS), // /dev/null
    Rule::new(true, Kind::Char, Some(1), Some(5), ALL_ACCESS), // /dev/zero
    Rule::new(true, Kind::Char, Some(1), Some(7), ALL_ACCESS), // /dev/full
    Rule::new(true, Kind::Char, Some(1), Some(8), ALL_ACCESS), // /dev/random
    Rule::new(true, Kind::Char, Some(1), Some(9), ALL_ACCESS), // /dev/urandom
    Rule::new(true, Kind::Char, Some(5), Some(0), ALL_ACCESS), // /dev/tty
    Rule::new(true, Kind::Char, Some(5), Some(1), ALL_ACCESS), // /dev/console
    Rule::new(true, Kind::Char, Some(5), Some(2), ALL_ACCESS), // /dev/ptmx
    Rule::new(true, Kind::Char, Some(136), None, ALL_ACCESS),  // /dev/pts/*
    Rule::new(true, Kind::Char, Some(10), Some(200), ALL_ACCESS), // /dev/net/tun
];

/// Checks the config's rules; `index` names them in errors.
pub fn rules_from_spec(list: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, CgroupError> {
    let mut rules = Vec::with_capacity(list.len());
    for (i, d) in list.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}]");
        let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => Kind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::P => {
                return Err(CgroupError(format!(
                    "{field}.type \"p\": FIFOs are not controlled by the device cgroup"
                )))
            }
        };
        let number = |n: Option<i64>, name: &str| -> Result<Option<u32>, CgroupError> {
            match n {
                None | Some(-1) => Ok(None),
                Some(v) => u32::try_from(v)
                    .map(Some)
                    .map_err(|_| CgroupError(format!("{field}.{name} {v} is not a device number"))),
            }
        };
        let access_text = d.access().as_deref().unwrap_or("");
        let mut access = 0;
        for c in access_text.chars() {
            access |= match c {
                'r' => READ,
                'w' => WRITE,
                'm' => MKNOD,
                _ => {
                    return Err(CgroupError(format!(
                        "{field}.access {access_text:?}: only the letters r, w and m are allowed"
                    )))
                }
            };
        }
        rules.push(Rule {
            allow: d.allow(),
            kind,
            major: number(d.major(), "major")?,
            minor: number(d.minor(), "minor")?,
            access: if access == 0 { ALL_ACCESS } else { access },
        });
    }
    Ok(rules)
}

/// The config's rules followed by [`DEFAULT_ALLOWED`].
pub fn effective_rules(list: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, CgroupError> {
    let mut rules = rules_from_spec(list)?;
    rules.extend_from_slice(DEFAULT_ALLOWED);
    Ok(rules)
}

/// `resources` with an allow rule (`rwm`) appended for every `linux.devices`
/// node, so the devices the config creates in the container can be used
/// (as runc and youki do). Without a device list nothing is restricted, so
/// nothing is added.
pub fn with_device_nodes(resources: &LinuxResources, nodes: &[LinuxDevice]) -> LinuxResources {
    let mut out = resources.clone();
    if let Some(list) = out.devices_mut() {
        for n in nodes {
            let typ = match n.typ() {
                LinuxDeviceType::B => LinuxDeviceType::B,
                LinuxDeviceType::P => continue, // FIFOs are not device-cgroup controlled
                _ => LinuxDeviceType::C,
            };
            let mut rule = LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(typ)
                .access("rwm");
            rule = rule.major(n.major()).minor(n.minor());
            if let Ok(rule) = rule.build() {
                list.push(rule);
            }
        }
    }
    out
}

/// Applies the rules where the host enforces them: the v1 devices
/// controller if mounted, else an eBPF program on the cgroup v2 directory.
pub fn apply(cg: &Cgroup, list: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = effective_rules(list)?;
    if let Some(dir) = cg.v1_dir("devices") {
        return v1::apply(dir, &rules);
    }
    match (&cg.unified, cg.mode) {
        (Some(u), Mode::Unified | Mode::Hybrid) => bpf::replace(&u.path, &program::compile(&rules))
            .map_err(|e| CgroupError(format!("linux.resources.devices: {e}"))),
        _ => Err(CgroupError(
            "linux.resources.devices: the host has no devices cgroup controller".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    use super::*;

    #[test]
    fn spec_rules_become_checked_rules_and_v1_lines() {
        let list = vec![
            LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .access("rwm")
                .build()
                .unwrap(),
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::C)
                .major(1)
                .minor(3)
                .access("rw")
                .build()
                .unwrap(),
        ];
        let rules = rules_from_spec(&list).unwrap();
        assert!(rules[0].is_catch_all() && !rules[0].allow);
        assert_eq!(rules[0].v1_line(), "a *:* rwm");
        assert_eq!(rules[1].v1_line(), "c 1:3 rw");
        assert_eq!(
            effective_rules(&list).unwrap().len(),
            2 + DEFAULT_ALLOWED.len()
        );
    }

    #[test]
    fn device_nodes_get_allow_rules_only_when_devices_are_restricted() {
        use oci_spec::runtime::{LinuxDeviceBuilder, LinuxResourcesBuilder};
        let node = LinuxDeviceBuilder::default()
            .path("/dev/fuse")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(229)
            .build()
            .unwrap();
        let deny = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .devices(vec![deny])
            .build()
            .unwrap();
        let out = with_device_nodes(&r, std::slice::from_ref(&node));
        let rules = rules_from_spec(out.devices().as_deref().unwrap()).unwrap();
        assert_eq!(rules[1].v1_line(), "c 10:229 rwm");
        let unrestricted = LinuxResourcesBuilder::default().build().unwrap();
        assert!(with_device_nodes(&unrestricted, &[node])
            .devices()
            .is_none());
    }

    #[test]
    fn bad_rules_name_the_entry() {
        let list = vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rx")
            .build()
            .unwrap()];
        let e = rules_from_spec(&list).unwrap_err();
        assert!(
            e.0.starts_with("linux.resources.devices[0].access \"rx\""),
            "{e}"
        );
        let list = vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .major(-5)
            .build()
            .unwrap()];
        assert!(rules_from_spec(&list).unwrap_err().0.contains("major -5"));
    }
}
