//! The runtime-spec mount-options table, parsed into what the mount API
//! needs: per-mount attributes, recursive attributes, superblock flags,
//! propagation changes, bind/remount/idmap and the leftover filesystem data.

use crate::sys::mountapi::{
    AttrChange, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, MS_PRIVATE, MS_SHARED, MS_SLAVE, MS_UNBINDABLE,
};

/// Mount attribute changes, accumulated option by option (the last wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub set: u64,
    pub clr: u64,
}

impl Attrs {
    fn set(&mut self, bit: u64) {
        self.set |= bit;
        self.clr &= !bit;
    }
    fn clear(&mut self, bit: u64) {
        self.clr |= bit;
        self.set &= !bit;
    }
    /// The atime mode is a field, not a bit: clear the field, then set it.
    fn atime(&mut self, mode: u64) {
        self.set = (self.set & !MOUNT_ATTR__ATIME) | mode;
        self.clr |= MOUNT_ATTR__ATIME;
    }
    /// As a `mount_setattr` change without propagation.
    pub fn change(&self) -> AttrChange {
        AttrChange {
            set: self.set,
            clr: self.clr,
            propagation: 0,
        }
    }
}

/// Superblock flags that a new filesystem (or a remount) takes through
/// `fsconfig`: `Some(true)` set, `Some(false)` cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SbFlags {
    pub ro: Option<bool>,
    pub sync: Option<bool>,
    pub dirsync: Option<bool>,
    pub mand: Option<bool>,
    pub lazytime: Option<bool>,
}

impl SbFlags {
    /// The `fsconfig` flag names, in a fixed order (`ro`/`rw`, `sync`/`async`...).
    pub fn params(&self, only_set: bool) -> Vec<&'static str> {
        let pairs = [
            (self.ro, "ro", "rw"),
            (self.sync, "sync", "async"),
            (self.dirsync, "dirsync", ""),
            (self.mand, "mand", "nomand"),
            (self.lazytime, "lazytime", "nolazytime"),
        ];
        let mut out = Vec::new();
        for (value, on, off) in pairs {
            match value {
                Some(true) => out.push(on),
                Some(false) if !only_set && !off.is_empty() => out.push(off),
                _ => {}
            }
        }
        out
    }
}

/// `bind` or `rbind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    Single,
    Recursive,
}

/// Everything one mount entry's `options` ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// Attributes of the mount itself.
    pub attrs: Attrs,
    /// Attributes of the mount and all its submounts (`rro`, `rnosuid`...).
    pub rec_attrs: Attrs,
    pub sb: SbFlags,
    /// Propagation changes in order: (`MS_*` type, recursive).
    pub propagation: Vec<(u64, bool)>,
    pub bind: Option<Bind>,
    pub remount: bool,
    /// `idmap` (false) or `ridmap` (true).
    pub idmap: Option<bool>,
    /// Copy the target's contents into a new tmpfs before mounting it.
    pub tmpcopyup: bool,
    /// Options not in the table: passed to the filesystem as data.
    pub data: Vec<String>,
}

/// Every option the table above understands (`berth features` lists them).
pub const KNOWN: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "nodiratime",
    "diratime",
    "nosymfollow",
    "symfollow",
    "noatime",
    "strictatime",
    "relatime",
    "atime",
    "norelatime",
    "nostrictatime",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rnosymfollow",
    "rsymfollow",
    "rnoatime",
    "rstrictatime",
    "rrelatime",
    "ratime",
    "rnorelatime",
    "rnostrictatime",
    "sync",
    "async",
    "dirsync",
    "mand",
    "nomand",
    "lazytime",
    "nolazytime",
    "iversion",
    "noiversion",
    "silent",
    "loud",
    "bind",
    "rbind",
    "remount",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
    "idmap",
    "ridmap",
    "tmpcopyup",
];

/// True when `option` is in the table (not passed to the filesystem as data).
pub fn is_known(option: &str) -> bool {
    apply(&mut MountOptions::default(), option)
}

/// Parses one mount entry's options.
pub fn parse(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for option in options {
        if !apply(&mut o, option) {
            o.data.push(option.clone());
        }
    }
    o
}

/// Applies one table option; false when `option` is not in the table.
fn apply(o: &mut MountOptions, option: &str) -> bool {
    let (a, r) = (&mut o.attrs, &mut o.rec_attrs);
    match option {
        "defaults" => {}
        "ro" => {
            a.set(MOUNT_ATTR_RDONLY);
            o.sb.ro = Some(true);
        }
        "rw" => {
            a.clear(MOUNT_ATTR_RDONLY);
            o.sb.ro = Some(false);
        }
        "nosuid" => a.set(MOUNT_ATTR_NOSUID),
        "suid" => a.clear(MOUNT_ATTR_NOSUID),
        "nodev" => a.set(MOUNT_ATTR_NODEV),
        "dev" => a.clear(MOUNT_ATTR_NODEV),
        "noexec" => a.set(MOUNT_ATTR_NOEXEC),
        "exec" => a.clear(MOUNT_ATTR_NOEXEC),
        "nodiratime" => a.set(MOUNT_ATTR_NODIRATIME),
        "diratime" => a.clear(MOUNT_ATTR_NODIRATIME),
        "nosymfollow" => a.set(MOUNT_ATTR_NOSYMFOLLOW),
        "symfollow" => a.clear(MOUNT_ATTR_NOSYMFOLLOW),
        "noatime" => a.atime(MOUNT_ATTR_NOATIME),
        "strictatime" => a.atime(MOUNT_ATTR_STRICTATIME),
        // relatime is the kernel default; "atime" and the "no" forms return to it.
        "relatime" | "atime" | "norelatime" | "nostrictatime" => a.atime(MOUNT_ATTR_RELATIME),
        "rro" => r.set(MOUNT_ATTR_RDONLY),
        "rrw" => r.clear(MOUNT_ATTR_RDONLY),
        "rnosuid" => r.set(MOUNT_ATTR_NOSUID),
        "rsuid" => r.clear(MOUNT_ATTR_NOSUID),
        "rnodev" => r.set(MOUNT_ATTR_NODEV),
        "rdev" => r.clear(MOUNT_ATTR_NODEV),
        "rnoexec" => r.set(MOUNT_ATTR_NOEXEC),
        "rexec" => r.clear(MOUNT_ATTR_NOEXEC),
        "rnodiratime" => r.set(MOUNT_ATTR_NODIRATIME),
        "rdiratime" => r.clear(MOUNT_ATTR_NODIRATIME),
        "rnosymfollow" => r.set(MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => r.clear(MOUNT_ATTR_NOSYMFOLLOW),
        "rnoatime" => r.atime(MOUNT_ATTR_NOATIME),
        "rstrictatime" => r.atime(MOUNT_ATTR_STRICTATIME),
        "rrelatime" | "ratime" | "rnorelatime" | "rnostrictatime" => r.atime(MOUNT_ATTR_RELATIME),
        "sync" => o.sb.sync = Some(true),
        "async" => o.sb.sync = Some(false),
        "dirsync" => o.sb.dirsync = Some(true),
        "mand" => o.sb.mand = Some(true),
        "nomand" => o.sb.mand = Some(false),
        "lazytime" => o.sb.lazytime = Some(true),
        "nolazytime" => o.sb.lazytime = Some(false),
        // The kernel manages i_version itself and "silent" only quiets its
        // log: accepted, nothing to do.
        "iversion" | "noiversion" | "silent" | "loud" => {}
        "bind" => o.bind = Some(Bind::Single),
        "rbind" => o.bind = Some(Bind::Recursive),
        "remount" => o.remount = true,
        "private" => o.propagation.push((MS_PRIVATE, false)),
        "rprivate" => o.propagation.push((MS_PRIVATE, true)),
        "shared" => o.propagation.push((MS_SHARED, false)),
        "rshared" => o.propagation.push((MS_SHARED, true)),
        "slave" => o.propagation.push((MS_SLAVE, false)),
        "rslave" => o.propagation.push((MS_SLAVE, true)),
        "unbindable" => o.propagation.push((MS_UNBINDABLE, false)),
        "runbindable" => o.propagation.push((MS_UNBINDABLE, true)),
        "idmap" => o.idmap = Some(false),
        "ridmap" => o.idmap = Some(true),
        "tmpcopyup" => o.tmpcopyup = true,
        _ => return false,
    }
    true
}

/// Parses `linux.rootfsPropagation`: (`MS_*` type, recursive).
pub fn parse_propagation(value: &str) -> Option<(u64, bool)> {
    let mut o = MountOptions::default();
    if !apply(&mut o, value) || o.propagation.len() != 1 {
        return None;
    }
    o.propagation.pop()
}

/// Splits a data option into an `fsconfig` key and optional value.
pub fn split_data(option: &str) -> (&str, Option<&str>) {
    match option.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (option, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_set_and_clear_with_the_last_option_winning() {
        let o = opts(&["nosuid", "nodev", "noexec", "ro", "suid"]);
        assert_eq!(
            o.attrs.set,
            MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY
        );
        assert_eq!(o.attrs.clr, MOUNT_ATTR_NOSUID);
        assert_eq!(o.sb.ro, Some(true));
        let o = opts(&["ro", "rw"]);
        assert_eq!(o.attrs.set, 0);
        assert_eq!(o.attrs.clr, MOUNT_ATTR_RDONLY);
        assert_eq!(o.sb.params(true), Vec::<&str>::new());
        assert_eq!(o.sb.params(false), vec!["rw"]);
    }

    #[test]
    fn atime_options_set_one_mode_and_clear_the_field() {
        let o = opts(&["noatime"]);
        assert_eq!(o.attrs.set, MOUNT_ATTR_NOATIME);
        assert_eq!(o.attrs.clr, MOUNT_ATTR__ATIME);
        let o = opts(&["noatime", "strictatime"]);
        assert_eq!(o.attrs.set, MOUNT_ATTR_STRICTATIME);
        let o = opts(&["strictatime", "atime", "nodiratime"]);
        assert_eq!(o.attrs.set, MOUNT_ATTR_RELATIME | MOUNT_ATTR_NODIRATIME);
        assert_eq!(o.attrs.clr, MOUNT_ATTR__ATIME);
    }

    #[test]
    fn recursive_options_fill_the_recursive_attrs_only() {
        let o = opts(&["rbind", "rro", "rnosuid", "rnoatime", "rexec"]);
        assert_eq!(o.bind, Some(Bind::Recursive));
        assert_eq!(o.attrs, Attrs::default());
        assert_eq!(
            o.rec_attrs.set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.rec_attrs.clr, MOUNT_ATTR__ATIME | MOUNT_ATTR_NOEXEC);
    }

    #[test]
    fn propagation_options_keep_their_order_and_recursion() {
        let o = opts(&["bind", "rprivate", "shared", "runbindable", "slave"]);
        assert_eq!(o.bind, Some(Bind::Single));
        assert_eq!(
            o.propagation,
            vec![
                (MS_PRIVATE, true),
                (MS_SHARED, false),
                (MS_UNBINDABLE, true),
                (MS_SLAVE, false)
            ]
        );
        assert_eq!(parse_propagation("rslave"), Some((MS_SLAVE, true)));
        assert_eq!(
            parse_propagation("unbindable"),
            Some((MS_UNBINDABLE, false))
        );
        assert_eq!(parse_propagation("ro"), None);
        assert_eq!(parse_propagation("bogus"), None);
    }

    #[test]
    fn unknown_options_become_filesystem_data_in_order() {
        let o = opts(&[
            "nosuid",
            "mode=755",
            "size=65536k",
            "newinstance",
            "context=\"a,b\"",
        ]);
        assert_eq!(
            o.data,
            vec!["mode=755", "size=65536k", "newinstance", "context=\"a,b\""]
        );
        assert_eq!(split_data("mode=755"), ("mode", Some("755")));
        assert_eq!(
            split_data("lowerdir=/a:/b=c"),
            ("lowerdir", Some("/a:/b=c"))
        );
        assert_eq!(split_data("newinstance"), ("newinstance", None));
    }

    #[test]
    fn superblock_flags_remount_idmap_and_no_op_options() {
        let o = opts(&[
            "sync",
            "dirsync",
            "mand",
            "lazytime",
            "remount",
            "ridmap",
            "tmpcopyup",
        ]);
        assert_eq!(
            o.sb.params(true),
            vec!["sync", "dirsync", "mand", "lazytime"]
        );
        assert!(o.remount && o.tmpcopyup);
        assert_eq!(o.idmap, Some(true));
        let o = opts(&[
            "defaults",
            "iversion",
            "noiversion",
            "silent",
            "loud",
            "async",
            "nomand",
        ]);
        assert!(o.data.is_empty());
        assert_eq!(o.sb.params(false), vec!["async", "nomand"]);
    }
}
