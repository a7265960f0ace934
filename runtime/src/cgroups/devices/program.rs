//! Compiles device rules to a `BPF_PROG_TYPE_CGROUP_DEVICE` program (pure).
//!
//! The kernel calls the program with `struct bpf_cgroup_dev_ctx { u32
//! access_type; u32 major; u32 minor; }`, where `access_type` is
//! `(access << 16) | type`; returning 1 allows the access, 0 denies it.
//! Rules are checked from the last to the first, so a later rule wins, as
//! with v1 writes; the last catch-all rule (`a *:* rwm`) is the default for
//! everything not matched after it, and without one the default is to allow
//! (a new v1 device cgroup allows everything too).

use super::{Kind, Rule, ALL_ACCESS};

/// One eBPF instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register.
    pub dst: u8,
    /// Source register.
    pub src: u8,
    /// Jump offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

/// Opcodes used here (class | op | source).
pub mod op {
    /// `dst = *(u32 *)(src + off)`
    pub const LDX_W: u8 = 0x61;
    /// `dst &= imm` (32-bit)
    pub const AND32_K: u8 = 0x54;
    /// `dst >>= imm` (32-bit)
    pub const RSH32_K: u8 = 0x74;
    /// `dst = src` (32-bit)
    pub const MOV32_X: u8 = 0xbc;
    /// `dst = imm` (64-bit)
    pub const MOV64_K: u8 = 0xb7;
    /// `if dst != imm goto +off`
    pub const JNE_K: u8 = 0x55;
    /// `if dst == imm goto +off`
    pub const JEQ_K: u8 = 0x15;
    /// return r0
    pub const EXIT: u8 = 0x95;
}

/// BPF_DEVCG_DEV_BLOCK and BPF_DEVCG_DEV_CHAR.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

// Registers: r1 context (then scratch), r2 type, r3 access, r4 major, r5 minor.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// The checks of one rule; each jump skips to the end of the rule's block.
fn block(rule: &Rule) -> Vec<Insn> {
    // Conditions as (instructions, index of the jump within them).
    let mut conds: Vec<Vec<Insn>> = Vec::new();
    match rule.kind {
        Kind::All => {}
        Kind::Char => conds.push(vec![insn(op::JNE_K, R2, 0, 0, DEV_CHAR)]),
        Kind::Block => conds.push(vec![insn(op::JNE_K, R2, 0, 0, DEV_BLOCK)]),
    }
    if rule.access != ALL_ACCESS {
        // An allow rule must cover every bit asked for; a deny rule
        // matches if it covers any of them.
        let (mask, jump) = if rule.allow {
            (!rule.access & ALL_ACCESS, op::JNE_K)
        } else {
            (rule.access, op::JEQ_K)
        };
        conds.push(vec![
            insn(op::MOV32_X, R1, R3, 0, 0),
            insn(op::AND32_K, R1, 0, 0, mask as i32),
            insn(jump, R1, 0, 0, 0),
        ]);
    }
    if let Some(m) = rule.major {
        conds.push(vec![insn(op::JNE_K, R4, 0, 0, m as i32)]);
    }
    if let Some(m) = rule.minor {
        conds.push(vec![insn(op::JNE_K, R5, 0, 0, m as i32)]);
    }
    let mut out: Vec<Insn> = conds.into_iter().flatten().collect();
    out.push(insn(op::MOV64_K, R0, 0, 0, i32::from(rule.allow)));
    out.push(insn(op::EXIT, 0, 0, 0, 0));
    let len = out.len();
    for (i, ins) in out.iter_mut().enumerate() {
        if ins.code == op::JNE_K || ins.code == op::JEQ_K {
            // Past the rest of the block: the remaining insns after this one.
            ins.off = (len - i - 1) as i16;
        }
    }
    out
}

/// The program for `rules`.
pub fn compile(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(op::LDX_W, R2, R1, 0, 0),
        insn(op::AND32_K, R2, 0, 0, 0xffff),
        insn(op::LDX_W, R3, R1, 0, 0),
        insn(op::RSH32_K, R3, 0, 0, 16),
        insn(op::LDX_W, R4, R1, 4, 0),
        insn(op::LDX_W, R5, R1, 8, 0),
    ];
    let mut default_allow = true;
    for rule in rules.iter().rev() {
        if rule.is_catch_all() {
            default_allow = rule.allow;
            break;
        }
        prog.extend(block(rule));
    }
    prog.push(insn(op::MOV64_K, R0, 0, 0, i32::from(default_allow)));
    prog.push(insn(op::EXIT, 0, 0, 0, 0));
    prog
}

/// The kernel's encoding: 8 bytes per instruction, little-endian host.
pub fn encode(prog: &[Insn]) -> Vec<u64> {
    prog.iter()
        .map(|i| {
            let regs = (i.src << 4) | (i.dst & 0x0f);
            let bytes = [
                i.code,
                regs,
                i.off.to_ne_bytes()[0],
                i.off.to_ne_bytes()[1],
                i.imm.to_ne_bytes()[0],
                i.imm.to_ne_bytes()[1],
                i.imm.to_ne_bytes()[2],
                i.imm.to_ne_bytes()[3],
            ];
            u64::from_ne_bytes(bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_ALLOWED, MKNOD, READ, WRITE};
    use super::*;

    /// Runs the program on one request, as the kernel would.
    fn run(prog: &[Insn], kind: i32, access: u32, major: u32, minor: u32) -> bool {
        let ctx = [((access << 16) | kind as u32), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            let (d, s) = (usize::from(i.dst), usize::from(i.src));
            let imm = i64::from(i.imm) as u64;
            match i.code {
                op::LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                op::AND32_K => r[d] = (r[d] as u32 & i.imm as u32) as u64,
                op::RSH32_K => r[d] = ((r[d] as u32) >> i.imm) as u64,
                op::MOV32_X => r[d] = r[s] as u32 as u64,
                op::MOV64_K => r[d] = imm,
                op::JNE_K if r[d] != imm => pc += i.off as usize,
                op::JEQ_K if r[d] == imm => pc += i.off as usize,
                op::JNE_K | op::JEQ_K => {}
                op::EXIT => return r[0] == 1,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn rule(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: u32) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn deny_all_then_defaults_allows_only_the_standard_nodes() {
        let mut rules = vec![rule(false, Kind::All, None, None, ALL_ACCESS)];
        rules.extend_from_slice(DEFAULT_ALLOWED);
        let p = compile(&rules);
        assert!(run(&p, DEV_CHAR, READ | WRITE, 1, 3), "/dev/null rw");
        assert!(run(&p, DEV_CHAR, READ, 136, 7), "/dev/pts/7");
        assert!(run(&p, DEV_BLOCK, MKNOD, 8, 0), "mknod of a block device");
        assert!(!run(&p, DEV_BLOCK, READ, 8, 0), "read /dev/sda");
        assert!(!run(&p, DEV_CHAR, READ, 1, 11), "/dev/kmsg");
        assert!(!run(&p, DEV_CHAR, READ, 1, 1), "/dev/mem");
    }

    #[test]
    fn later_rules_win_and_access_must_be_covered() {
        let rules = vec![
            rule(false, Kind::All, None, None, ALL_ACCESS),
            rule(true, Kind::Char, Some(4), None, READ),
            rule(false, Kind::Char, Some(4), Some(1), WRITE),
        ];
        let p = compile(&rules);
        assert!(run(&p, DEV_CHAR, READ, 4, 2));
        assert!(
            !run(&p, DEV_CHAR, READ | WRITE, 4, 2),
            "write is not allowed"
        );
        assert!(
            run(&p, DEV_CHAR, READ, 4, 1),
            "the deny rule is for write only"
        );
        assert!(!run(&p, DEV_CHAR, WRITE, 4, 1));
        assert!(
            !run(&p, DEV_BLOCK, READ, 4, 2),
            "char rule does not cover block"
        );
    }

    #[test]
    fn without_a_catch_all_the_default_is_allow() {
        let p = compile(&[rule(false, Kind::Block, Some(8), None, ALL_ACCESS)]);
        assert!(!run(&p, DEV_BLOCK, READ, 8, 16));
        assert!(run(&p, DEV_CHAR, READ, 1, 1));
        // Everything before the last catch-all is dead code and left out.
        let p = compile(&[
            rule(true, Kind::Char, Some(1), Some(3), ALL_ACCESS),
            rule(false, Kind::All, None, None, ALL_ACCESS),
        ]);
        assert_eq!(p.len(), 8);
        assert!(!run(&p, DEV_CHAR, READ, 1, 3));
    }

    #[test]
    fn encoding_packs_registers_and_little_endian_fields() {
        let e = encode(&[insn(op::LDX_W, R4, R1, 4, 0)]);
        assert_eq!(e[0].to_ne_bytes(), [0x61, 0x14, 4, 0, 0, 0, 0, 0]);
    }
}
