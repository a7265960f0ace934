//! Architectures: the SCMP_ARCH_* names a profile may use, and the ABIs of
//! the x86 family this runtime filters (a 64-bit x86 kernel runs x86_64,
//! i386 and x32 programs).

use super::{syscalls, SeccompError};
use oci_spec::runtime::Arch;

/// AUDIT_ARCH_X86_64: `seccomp_data.arch` of x86_64 and x32 syscalls.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// AUDIT_ARCH_I386: `seccomp_data.arch` of i386 syscalls (int 0x80, sysenter).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// x32 syscall numbers carry this bit under AUDIT_ARCH_X86_64.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A syscall ABI of the x86 family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Abi {
    /// 64-bit x86 (the native ABI).
    X86_64,
    /// 32-bit x86.
    X86,
    /// x32: 64-bit registers, 32-bit pointers, numbers with `X32_SYSCALL_BIT`.
    X32,
}

impl Abi {
    /// The syscall number of `name` in this ABI, if the tables know it.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X86 => syscalls::X86,
            Abi::X32 => syscalls::X32,
        };
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// Whether arguments are 64 bits wide (i386 passes 32-bit registers,
    /// so only the low half of `seccomp_data.args[i]` is compared).
    pub fn wide_args(self) -> bool {
        self != Abi::X86
    }

    /// The ABIs a filter covers: the native one always (as libseccomp),
    /// plus the x86 family members the profile names. Names of other
    /// architectures are accepted and ignored: this kernel never reports them.
    pub fn selected(archs: &[Arch]) -> Result<Vec<Abi>, SeccompError> {
        if !cfg!(target_arch = "x86_64") {
            return Err(SeccompError(
                "linux.seccomp: seccomp filters are only supported on x86_64 hosts".into(),
            ));
        }
        let mut abis = vec![Abi::X86_64];
        for arch in archs {
            let abi = match arch {
                Arch::ScmpArchX86 => Abi::X86,
                Arch::ScmpArchX32 => Abi::X32,
                _ => continue,
            };
            if !abis.contains(&abi) {
                abis.push(abi);
            }
        }
        Ok(abis)
    }
}

/// Every SCMP_ARCH_* name a profile may use (for `features`).
pub fn names() -> Vec<&'static str> {
    vec![
        "SCMP_ARCH_NATIVE",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",
        "SCMP_ARCH_SH",
        "SCMP_ARCH_SHEB",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_arch_name_parses() {
        for name in names() {
            let parsed: Result<Arch, _> = serde_json::from_value(serde_json::json!(name));
            assert!(parsed.is_ok(), "{name} is not accepted by oci-spec");
        }
    }

    #[test]
    fn tables_know_each_abi() {
        assert_eq!(Abi::X86_64.syscall_nr("mkdir"), Some(83));
        assert_eq!(Abi::X86.syscall_nr("mkdir"), Some(39));
        assert_eq!(Abi::X32.syscall_nr("mkdir"), Some(X32_SYSCALL_BIT | 83));
        // x32 has its own numbers for syscalls with pointer-size differences.
        assert_eq!(
            Abi::X32.syscall_nr("rt_sigaction"),
            Some(X32_SYSCALL_BIT | 512)
        );
        assert_eq!(Abi::X86_64.syscall_nr("socketcall"), None);
        assert_eq!(Abi::X86_64.syscall_nr("no_such_syscall"), None);
    }

    #[test]
    fn native_abi_is_always_first() {
        let abis = Abi::selected(&[Arch::ScmpArchX32, Arch::ScmpArchAarch64, Arch::ScmpArchX86])
            .expect("x86_64 host");
        assert_eq!(abis, vec![Abi::X86_64, Abi::X32, Abi::X86]);
    }
}
