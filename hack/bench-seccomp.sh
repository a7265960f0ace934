#!/usr/bin/env bash
# Seccomp overhead: runs a syscall-heavy loop with no filter and under the
# Docker-shaped profile that berth compiles (runtime/src/seccomp/testdata/
# docker-like.json), and prints ns/syscall and the ratio.
# Usage: hack/bench-seccomp.sh [cargo profile, default release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-release}
cargo run -q --profile "$profile" -p berth --example seccomp-bench
# Profile the profile compiler instead: COMPILE_ONLY=1 perf record <the example binary>
