#!/bin/sh
# Builds the spec-tests `checker` as a statically linked binary and copies it
# to OUT (default: target/spec-tests/checker), where the spec-tests harness
# looks for it unless CHECKER_BIN names another file.
# Usage: hack/build-checker.sh [OUT]
set -eu
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
out="${1:-$PWD/target/spec-tests/checker}"
cargo rustc -p spec-tests --bin checker --release -- -C target-feature=+crt-static
mkdir -p "$(dirname "$out")"
cp "$target_dir/release/checker" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
