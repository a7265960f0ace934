#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds berth, hoist and
# the static checker, and runs every test (unit and integration, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/install-deps.sh
cargo build --workspace --all-targets
if [ -x hack/build-checker.sh ] || [ -f hack/build-checker.sh ]; then bash hack/build-checker.sh; fi
# Integration tests start real containers; two at a time is plenty on 2 cores.
cargo test --workspace -- --test-threads="${TEST_THREADS:-2}"
