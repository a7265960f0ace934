#!/usr/bin/env bash
# Container lifecycle latency, side by side in one run: `<runtime> run` of a
# container whose process is /bin/true (create + start + wait + delete in one
# call), for berth, runc and crun, on the same bundle.
#
# crun refuses this machine's hybrid cgroups, so it runs inside a private
# mount namespace with an empty tmpfs over /sys/fs/cgroup/unified.
#
# Usage: hack/bench-lifecycle.sh [RUNS]   (prints a markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
bash hack/install-deps.sh
cargo build --release -q -p berth
berth="$PWD/target/release/berth"
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One bundle for all: busybox rootfs, runc's default config, /bin/true.
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$berth" spec)
python3 - "$work/bundle/config.json" "${BENCH_RESOURCES:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["ociVersion"] = "1.0.2"  # crun 1.8 (Debian 12) knows no newer version
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
if sys.argv[2]:
    c["linux"]["resources"].update(json.loads(sys.argv[2]))
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY

bench() { # name, command...
  local name=$1; shift
  hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/$name.json" "$@" >/dev/null 2>&1 \
    || { echo "| $name | failed | |"; return; }
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys, statistics
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| {sys.argv[2]} | {statistics.median(r['times'])*1000:.2f} | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} |")
PY
}

echo "| runtime | median ms | mean ms |"
echo "|---|---|---|"
bench berth "$berth --root $work/berth-root run --bundle $work/bundle b1"
bench runc "runc --root $work/runc-root run --bundle $work/bundle r1"
if command -v crun >/dev/null; then
  unshare -m bash -c "mount -t tmpfs tmpfs /sys/fs/cgroup/unified && \
    hyperfine -N --warmup 10 --runs $runs --export-json $work/crun.json \
      'crun --root $work/crun-root run --bundle $work/bundle c1'" >/dev/null 2>&1 \
    && python3 - "$work/crun.json" <<'PY' || echo "| crun | failed | |"
import json, sys, statistics
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| crun | {statistics.median(r['times'])*1000:.2f} | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} |")
PY
fi
