#!/usr/bin/env bash
# Container lifecycle latency, side by side in one run: `<runtime> run` of a
# container whose process is /bin/true (create + start + wait + delete in one
# call), for berth, runc and crun, on the same bundle.
#
# crun refuses this machine's hybrid cgroups, so it runs inside a private
# mount namespace with an empty tmpfs over /sys/fs/cgroup/unified.
#
# Extra rows: berth run from a binary already on a read-only mount (its
# CVE-2019-5736 guard then has nothing to do: the difference is the guard's
# cost), and berth and runc with linux.resources set (memory, pids, cpu).
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
mkdir -p "$work/bundle/rootfs/bin" "$work/robin"
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$berth" spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["ociVersion"] = "1.0.2"  # crun 1.8 (Debian 12) knows no newer version
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
# The same bundle with resources.
cp -a "$work/bundle" "$work/bundle-res"
python3 - "$work/bundle-res/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["resources"].update({"memory": {"limit": 268435456}, "pids": {"limit": 512},
                                "cpu": {"shares": 512, "quota": 50000, "period": 100000}})
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
# berth on a read-only bind mount: no guard re-exec needed.
cp "$berth" "$work/robin/berth"
mount --bind -o ro "$work/robin" "$work/robin"
trap 'umount "$work/robin" 2>/dev/null; rm -rf "$work"' EXIT

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
bench "berth, binary on a read-only mount (no guard re-exec)" "$work/robin/berth --root $work/berth-root run --bundle $work/bundle b2"
bench "berth + resources" "$berth --root $work/berth-root run --bundle $work/bundle-res b3"
bench runc "runc --root $work/runc-root run --bundle $work/bundle r1"
bench "runc + resources" "runc --root $work/runc-root run --bundle $work/bundle-res r2"
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
