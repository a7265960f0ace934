#!/usr/bin/env bash
# Builds berth and runs a demo container from a bundle made on the spot
# (a busybox-static rootfs), printing what the container sees.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /bin/busybox ] || ! /bin/busybox --help 2>&1 | grep -q static; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
cargo build --release -q -p berth
berth="$PWD/target/release/berth"

bundle=$(mktemp -d /tmp/berth-demo.XXXXXX)
root=$(mktemp -d /tmp/berth-demo-root.XXXXXX)
trap '"$berth" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$bundle" "$root"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for t in sh echo cat hostname id ls ps uname mount grep; do ln -s busybox "$bundle/rootfs/bin/$t"; done
(cd "$bundle" && "$berth" spec)
# Not a terminal, and a command that shows the container from inside.
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
    "echo hello from inside berth; echo hostname: $(hostname); id; "
    "echo processes:; ps; echo root filesystem:; ls /; echo mounts:; cat /proc/self/mounts"]
json.dump(c, open(path, "w"), indent=2)
PY
echo "+ berth run demo   (bundle $bundle)"
"$berth" --root "$root" run --bundle "$bundle" demo
