//! Planning tests (pure).

use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxResourcesBuilder};

use super::*;

fn sets(w: &[Write]) -> Vec<(String, String)> {
    w.iter()
        .filter_map(|w| match &w.op {
            Op::Set { file, value } => Some((file.clone(), value.clone())),
            Op::Refuse(_) => None,
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn shares_convert_to_weight_like_runc() {
    assert_eq!(cpu::shares_to_weight(2), 1);
    assert_eq!(cpu::shares_to_weight(1024), 39);
    assert_eq!(cpu::shares_to_weight(262_144), 10_000);
    assert_eq!(blkio::weight_to_io(10), 1);
    assert_eq!(blkio::weight_to_io(1000), 10_000);
}

#[test]
fn cpu_max_combines_quota_and_period() {
    assert_eq!(
        cpu::cpu_max(Some(50_000), Some(100_000)).as_deref(),
        Some("50000 100000")
    );
    assert_eq!(cpu::cpu_max(Some(-1), None).as_deref(), Some("max"));
    assert_eq!(
        cpu::cpu_max(None, Some(20_000)).as_deref(),
        Some("max 20000")
    );
    assert_eq!(cpu::cpu_max(None, None), None);
}

#[test]
fn memory_plans_differ_by_version() {
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(100 << 20)
                .swap(200 << 20)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_eq!(
        sets(&plan_v1(&r).unwrap()),
        [
            pair("memory.limit_in_bytes", "104857600"),
            pair("memory.memsw.limit_in_bytes", "209715200")
        ]
    );
    assert_eq!(
        sets(&plan_v2(&r).unwrap()),
        [
            pair("memory.max", "104857600"),
            pair("memory.swap.max", "104857600")
        ]
    );
}

#[test]
fn out_of_range_values_name_the_field() {
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .swappiness(101u64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let e = plan_v1(&r).unwrap_err();
    assert!(e.0.contains("linux.resources.memory.swappiness 101"), "{e}");
    let r = LinuxResourcesBuilder::default()
        .cpu(LinuxCpuBuilder::default().shares(1u64).build().unwrap())
        .build()
        .unwrap();
    assert!(plan_v2(&r)
        .unwrap_err()
        .0
        .contains("linux.resources.cpu.shares 1"));
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(200)
                .swap(100)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(plan_v1(&r)
        .unwrap_err()
        .0
        .contains("linux.resources.memory.swap 100 is below"));
}

#[test]
fn v2_refuses_what_it_cannot_express() {
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .kernel(1 << 20)
                .disable_oom_killer(true)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(1024u64)
                .realtime_runtime(1000)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let refused: Vec<String> = plan_v2(&r)
        .unwrap()
        .into_iter()
        .filter(|w| matches!(w.op, Op::Refuse(_)))
        .map(|w| w.field)
        .collect();
    assert_eq!(
        refused,
        [
            "linux.resources.memory.kernel",
            "linux.resources.memory.disableOOMKiller",
            "linux.resources.cpu.realtimeRuntime"
        ]
    );
    assert!(sets(&plan_v2(&r).unwrap()).contains(&pair("cpu.weight", "39")));
}

#[test]
fn unified_keys_must_be_plain_file_names() {
    assert_eq!(unified::check_key("memory.max").unwrap(), "memory");
    assert!(unified::check_key("../memory.max").is_err());
    assert!(unified::check_key("memory").is_err());
    assert!(unified::check_key(".max").is_err());
}
