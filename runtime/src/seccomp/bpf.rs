//! BPF code generation: a checked policy becomes a classic BPF program.
//!
//! Shape: check `seccomp_data.arch` (and the x32 bit) first, then per ABI a
//! binary search over ranges of syscall numbers that share one action; a
//! syscall with argument rules is a range of its own whose leaf holds its
//! rule block. Jumps
//! are generated against labels; the assembler turns conditional jumps whose
//! target is more than 255 instructions away into `ja` trampolines.

use super::arch::{Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::policy::{AbiPolicy, ArgCond, CmpOp, Policy, SyscallPolicy};

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}
fn off_arg_hi(index: u8) -> u32 {
    off_arg_lo(index) + 4 // little endian: the high word follows
}

/// One BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

type Label = usize;

#[derive(Debug)]
enum Op {
    Ld(u32),
    And(u32),
    Jmp {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ret(u32),
    Mark(Label),
}

#[derive(Default)]
struct Gen {
    ops: Vec<Op>,
    labels: usize,
}

impl Gen {
    fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels - 1
    }
    fn mark(&mut self, l: Label) {
        self.ops.push(Op::Mark(l));
    }
    fn ld(&mut self, off: u32) {
        self.ops.push(Op::Ld(off));
    }
    fn and(&mut self, k: u32) {
        self.ops.push(Op::And(k));
    }
    fn ret(&mut self, action: u32) {
        self.ops.push(Op::Ret(action));
    }
    fn jmp(&mut self, code: u16, k: u32, jt: Label, jf: Label) {
        self.ops.push(Op::Jmp { code, k, jt, jf });
    }
    /// A conditional jump to `jt`, falling through to the next instruction.
    fn jmp_or_next(&mut self, code: u16, k: u32, jt: Label) {
        let next = self.label();
        self.jmp(code, k, jt, next);
        self.mark(next);
    }
}

/// Generates the filter program for `policy`.
pub fn generate(policy: &Policy) -> Result<Vec<Insn>, String> {
    let mut g = Gen::default();
    let x86_64 = policy.abi(Abi::X86_64);
    let x32 = policy.abi(Abi::X32);
    let x86 = policy.abi(Abi::X86);
    let bad = policy.bad_arch_action;

    g.ld(OFF_ARCH);
    let l64 = g.label();
    let l32 = g.label();
    let has64 = x86_64.is_some() || x32.is_some();
    if has64 {
        g.jmp_or_next(JEQ_K, AUDIT_ARCH_X86_64, l64);
    }
    if x86.is_some() {
        g.jmp_or_next(JEQ_K, AUDIT_ARCH_I386, l32);
    }
    g.ret(bad);

    if has64 {
        g.mark(l64);
        g.ld(OFF_NR);
        // x32 shares AUDIT_ARCH_X86_64; only the number's bit tells it apart.
        let lx32 = g.label();
        g.jmp_or_next(JGE_K, X32_SYSCALL_BIT, lx32);
        match x86_64 {
            Some(p) => tree(&mut g, p, 0, policy.default_action, Abi::X86_64.wide_args()),
            None => g.ret(bad),
        }
        g.mark(lx32);
        if x86_64.is_some() {
            // -1 (a tracer skipping the syscall) is not an x32 call.
            let skip = g.label();
            g.jmp_or_next(JEQ_K, u32::MAX, skip);
            let after = g.label();
            g.jmp(JA, 0, after, after);
            g.mark(skip);
            g.ret(policy.default_action);
            g.mark(after);
        }
        match x32 {
            Some(p) => tree(
                &mut g,
                p,
                X32_SYSCALL_BIT,
                policy.default_action,
                Abi::X32.wide_args(),
            ),
            None => g.ret(bad),
        }
    }
    if let Some(p) = x86 {
        g.mark(l32);
        g.ld(OFF_NR);
        tree(&mut g, p, 0, policy.default_action, Abi::X86.wide_args());
    }
    let program = assemble(&g.ops, g.labels)?;
    if program.len() > MAX_INSNS {
        return Err(format!(
            "linux.seccomp: the profile compiles to {} BPF instructions, more than the kernel's limit of {MAX_INSNS}",
            program.len()
        ));
    }
    Ok(program)
}

/// What a range of syscall numbers leads to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Ret(u32),
    Rules(&'a SyscallPolicy),
}

/// The ABI's number space `[lo, ..)` cut into ranges of one target each;
/// neighbouring numbers with the same action share a range, so an allow
/// list of 300 syscalls becomes a few dozen ranges.
fn ranges(p: &AbiPolicy, lo: u32, default: u32) -> Vec<(u32, Target<'_>)> {
    fn push<'a>(out: &mut Vec<(u32, Target<'a>)>, start: u32, t: Target<'a>) {
        if out.last().is_some_and(|(s, _)| *s == start) {
            out.pop();
        }
        if out
            .last()
            .is_some_and(|(_, prev)| *prev == t && matches!(t, Target::Ret(_)))
        {
            return;
        }
        out.push((start, t));
    }
    let mut out = vec![(lo, Target::Ret(default))];
    for (nr, sp) in p.syscalls.range(lo..) {
        let t = if sp.rules.is_empty() {
            Target::Ret(sp.fallback)
        } else {
            Target::Rules(sp)
        };
        push(&mut out, *nr, t);
        if let Some(next) = nr.checked_add(1) {
            push(&mut out, next, Target::Ret(default));
        }
    }
    out
}

/// A binary search over the ranges; `A` holds the syscall number, which
/// is at least `lo`.
fn tree(g: &mut Gen, p: &AbiPolicy, lo: u32, default: u32, wide: bool) {
    subtree(g, &ranges(p, lo, default), wide);
}

fn subtree(g: &mut Gen, ranges: &[(u32, Target<'_>)], wide: bool) {
    if let [(_, target)] = ranges {
        return match target {
            Target::Ret(action) => g.ret(*action),
            Target::Rules(sp) => arg_block(g, sp, wide),
        };
    }
    let mid = ranges.len() / 2;
    let right = g.label();
    g.jmp_or_next(JGE_K, ranges[mid].0, right);
    subtree(g, &ranges[..mid], wide);
    g.mark(right);
    subtree(g, &ranges[mid..], wide);
}

/// The rules of one syscall: first matching rule wins, else the fallback.
fn arg_block(g: &mut Gen, sp: &SyscallPolicy, wide: bool) {
    for rule in &sp.rules {
        let fail = g.label();
        for c in &rule.conds {
            let ok = g.label();
            cond(g, c, ok, fail, wide);
            g.mark(ok);
        }
        g.ret(rule.action);
        g.mark(fail);
    }
    g.ret(sp.fallback);
}

/// Jumps to `ok` when the condition holds, else to `fail`. 64-bit values
/// are compared as high word first, then low word.
fn cond(g: &mut Gen, c: &ArgCond, ok: Label, fail: Label, wide: bool) {
    // Negated operators are their positive twin with the targets swapped.
    let (op, yes, no) = match c.op {
        CmpOp::Ne => (CmpOp::Eq, fail, ok),
        CmpOp::Lt => (CmpOp::Ge, fail, ok),
        CmpOp::Le => (CmpOp::Gt, fail, ok),
        op => (op, ok, fail),
    };
    let (v_lo, v_hi) = (c.value as u32, (c.value >> 32) as u32);
    let (v2_lo, v2_hi) = (c.value_two as u32, (c.value_two >> 32) as u32);
    if wide {
        g.ld(off_arg_hi(c.index));
        match op {
            CmpOp::Gt | CmpOp::Ge => {
                g.jmp_or_next(JGT_K, v_hi, yes);
                let next = g.label();
                g.jmp(JEQ_K, v_hi, next, no);
                g.mark(next);
            }
            CmpOp::MaskedEq => {
                g.and(v_hi);
                let next = g.label();
                g.jmp(JEQ_K, v2_hi, next, no);
                g.mark(next);
            }
            _ => {
                let next = g.label();
                g.jmp(JEQ_K, v_hi, next, no);
                g.mark(next);
            }
        }
    }
    // i386 arguments are 32 bits: libseccomp compares the low word only.
    g.ld(off_arg_lo(c.index));
    match op {
        CmpOp::Gt => g.jmp(JGT_K, v_lo, yes, no),
        CmpOp::Ge => g.jmp(JGE_K, v_lo, yes, no),
        CmpOp::MaskedEq => {
            g.and(v_lo);
            g.jmp(JEQ_K, v2_lo, yes, no);
        }
        _ => g.jmp(JEQ_K, v_lo, yes, no),
    }
}

/// Lays out the program, widening conditional jumps that cannot reach
/// their target with an 8-bit offset into `jcc 0,1; ja jt; ja jf`.
fn assemble(ops: &[Op], labels: usize) -> Result<Vec<Insn>, String> {
    let mut long = vec![false; ops.len()];
    let mut pos = vec![0usize; ops.len()];
    let mut at = vec![usize::MAX; labels];
    loop {
        let mut p = 0;
        for (i, op) in ops.iter().enumerate() {
            pos[i] = p;
            p += match op {
                Op::Mark(l) => {
                    at[*l] = p;
                    0
                }
                Op::Jmp { code, .. } if *code != JA && long[i] => 3,
                _ => 1,
            };
        }
        let mut widened = false;
        for (i, op) in ops.iter().enumerate() {
            if let Op::Jmp { code, jt, jf, .. } = op {
                if *code == JA || long[i] {
                    continue;
                }
                let reach = |l: Label| at[l].checked_sub(pos[i] + 1).is_some_and(|d| d <= 255);
                if !reach(*jt) || !reach(*jf) {
                    long[i] = true;
                    widened = true;
                }
            }
        }
        if !widened {
            break;
        }
    }
    let offset = |from: usize, l: Label| -> Result<u32, String> {
        at.get(l)
            .and_then(|t| t.checked_sub(from + 1))
            .map(|d| d as u32)
            .ok_or_else(|| format!("seccomp: internal error: backward or unplaced jump at {from}"))
    };
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let insn = |code, jt, jf, k| Insn { code, jt, jf, k };
        match op {
            Op::Mark(_) => {}
            Op::Ld(off) => out.push(insn(LD_W_ABS, 0, 0, *off)),
            Op::And(k) => out.push(insn(ALU_AND_K, 0, 0, *k)),
            Op::Ret(k) => out.push(insn(RET_K, 0, 0, *k)),
            Op::Jmp { code: JA, jt, .. } => out.push(insn(JA, 0, 0, offset(pos[i], *jt)?)),
            Op::Jmp { code, k, jt, jf } if long[i] => {
                out.push(insn(*code, 0, 1, *k));
                out.push(insn(JA, 0, 0, offset(pos[i] + 1, *jt)?));
                out.push(insn(JA, 0, 0, offset(pos[i] + 2, *jf)?));
            }
            Op::Jmp { code, k, jt, jf } => {
                // In range: checked by the layout loop above.
                let t = offset(pos[i], *jt)? as u8;
                let f = offset(pos[i], *jf)? as u8;
                out.push(insn(*code, t, f, *k));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::seccomp::policy::check;
    use oci_spec::runtime::LinuxSeccomp;

    /// Runs a program the way the kernel would, on one `seccomp_data`.
    pub(crate) fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => arch,
                o if (16..64).contains(&o) => {
                    let a = args[((o - 16) / 8) as usize];
                    if o % 8 == 0 {
                        a as u32
                    } else {
                        (a >> 32) as u32
                    }
                }
                o => panic!("load from offset {o}"),
            }
        };
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => a = word(i.k),
                ALU_AND_K => a &= i.k,
                JA => pc += i.k as usize,
                JEQ_K | JGT_K | JGE_K => {
                    let hit = match i.code {
                        JEQ_K => a == i.k,
                        JGT_K => a > i.k,
                        _ => a >= i.k,
                    };
                    pc += usize::from(if hit { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    /// What the policy means, written plainly: the oracle for `run`.
    fn reference(p: &Policy, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let abi = match arch {
            AUDIT_ARCH_X86_64 if nr == u32::MAX => return p.default_action,
            AUDIT_ARCH_X86_64 if nr & X32_SYSCALL_BIT != 0 => Abi::X32,
            AUDIT_ARCH_X86_64 => Abi::X86_64,
            AUDIT_ARCH_I386 => Abi::X86,
            _ => return p.bad_arch_action,
        };
        let Some(ap) = p.abi(abi) else {
            return p.bad_arch_action;
        };
        let Some(sp) = ap.syscalls.get(&nr) else {
            return p.default_action;
        };
        let holds = |c: &ArgCond| {
            let (arg, v, v2) = if abi.wide_args() {
                (args[c.index as usize], c.value, c.value_two)
            } else {
                let t = |x: u64| u64::from(x as u32);
                (t(args[c.index as usize]), t(c.value), t(c.value_two))
            };
            match c.op {
                CmpOp::Ne => arg != v,
                CmpOp::Lt => arg < v,
                CmpOp::Le => arg <= v,
                CmpOp::Eq => arg == v,
                CmpOp::Ge => arg >= v,
                CmpOp::Gt => arg > v,
                CmpOp::MaskedEq => arg & v == v2,
            }
        };
        sp.rules
            .iter()
            .find(|r| r.conds.iter().all(holds))
            .map_or(sp.fallback, |r| r.action)
    }

    const EDGES: [u64; 10] = [
        0,
        1,
        7,
        8,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0007,
        0x1_0000_0008,
        0xffff_ffff_0000_0000,
        u64::MAX,
    ];

    fn compile(json: &str) -> (Policy, Vec<Insn>) {
        let profile: LinuxSeccomp = serde_json::from_str(json).expect("test profile parses");
        let policy = check(&profile).expect("valid profile");
        let prog = generate(&policy).expect("program generates");
        (policy, prog)
    }

    #[test]
    fn every_operator_matches_on_both_halves() {
        let ops = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];
        for op in ops {
            for value in EDGES {
                let json = format!(
                    r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
                    "syscalls":[{{"names":["umask","personality"],"action":"SCMP_ACT_ERRNO","errnoRet":9,
                    "args":[{{"index":1,"op":"SCMP_CMP_{op}","value":{value},"valueTwo":{}}}]}}]}}"#,
                    value & 0x1_0000_0007
                );
                let (policy, prog) = compile(&json);
                for (arch, nr) in [
                    (AUDIT_ARCH_X86_64, 95),
                    (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 95),
                    (AUDIT_ARCH_I386, 60),
                ] {
                    for arg in EDGES {
                        let args = [0, arg, 0, 0, 0, 0];
                        assert_eq!(
                            run(&prog, arch, nr, args),
                            reference(&policy, arch, nr, args),
                            "op {op} value {value:#x} arg {arg:#x} arch {arch:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn greater_than_uses_the_high_word() {
        let (_, prog) = compile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_ERRNO",
               "args":[{"index":0,"op":"SCMP_CMP_GT","value":4294967296}]}]}"#,
        );
        let eperm = libc::SECCOMP_RET_ERRNO | 1;
        let allow = libc::SECCOMP_RET_ALLOW;
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 95, [0x1_0000_0001, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 95, [0x2_0000_0000, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 95, [0x1_0000_0000, 0, 0, 0, 0, 0]),
            allow
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 95, [0xffff_ffff, 0, 0, 0, 0, 0]),
            allow
        );
    }

    #[test]
    fn foreign_abis_get_the_bad_arch_action() {
        let (policy, prog) = compile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
        let kill = libc::SECCOMP_RET_KILL_PROCESS;
        assert_eq!(run(&prog, AUDIT_ARCH_I386, 39, [0; 6]), kill);
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 83, [0; 6]),
            kill
        );
        assert_eq!(run(&prog, 0xc000_00b7, 34, [0; 6]), kill);
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 83, [0; 6]),
            policy.default_action
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, u32::MAX, [0; 6]),
            policy.default_action
        );
    }

    /// A profile big enough that jumps need trampolines, with argument
    /// rules spread over three ABIs: every syscall number agrees with the oracle.
    #[test]
    fn large_profile_agrees_with_the_reference_everywhere() {
        let names: Vec<String> = crate::seccomp::syscalls::X86_64
            .iter()
            .chain(crate::seccomp::syscalls::X86)
            .map(|(n, _)| format!("\"{n}\""))
            .collect();
        let mut rules = vec![format!(
            r#"{{"names":[{}],"action":"SCMP_ACT_ALLOW"}}"#,
            names.join(",")
        )];
        for (i, (name, _)) in crate::seccomp::syscalls::X86_64
            .iter()
            .enumerate()
            .step_by(7)
        {
            rules.insert(
                0,
                format!(
                    r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","errnoRet":{},
                    "args":[{{"index":{},"op":"SCMP_CMP_MASKED_EQ","value":{},"valueTwo":0}},
                            {{"index":0,"op":"SCMP_CMP_LE","value":{}}}]}}"#,
                    i % 100,
                    i % 6,
                    0x7e02_0000 + i,
                    i * 1000
                ),
            );
        }
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
               "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{}]}}"#,
            rules.join(",")
        );
        let (policy, prog) = compile(&json);
        assert!(prog.len() > 1000, "{} instructions", prog.len());
        assert!(prog.len() <= MAX_INSNS);
        let trampolines = prog
            .windows(2)
            .filter(|w| w[0].jt == 0 && w[0].jf == 1 && w[1].code == JA)
            .count();
        assert!(trampolines > 0, "no trampolines were needed");
        for arch in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386] {
            for base in [0, X32_SYSCALL_BIT] {
                for nr in (0..600).map(|n| base | n) {
                    for args in [[0; 6], [5000, 0x200_0000, 1, 2, 3, u64::MAX]] {
                        assert_eq!(
                            run(&prog, arch, nr, args),
                            reference(&policy, arch, nr, args),
                            "arch {arch:#x} nr {nr:#x}"
                        );
                    }
                }
            }
        }
    }
}
