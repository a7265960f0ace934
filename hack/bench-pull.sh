#!/usr/bin/env bash
# Pull + unpack benchmark: hoist vs `skopeo copy` + `umoci unpack`, same images from
# the same local registry (Debian's docker-registry on 127.0.0.1), cold and warm.
# Also times a cached `hoist run` against the runtime running a ready bundle alone.
#
#   hack/bench-pull.sh            # N=5 runs each; HOIST=path RUNTIME=runc|berth to override
#
# Prints medians (ms) and ratios (skopeo+umoci / hoist; > 1 means hoist is faster).
set -euo pipefail

N=${N:-5}
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOIST=${HOIST:-$REPO_ROOT/target/release/hoist}
RUNTIME=${RUNTIME:-runc}
if [ ! -x "$HOIST" ]; then
    (cd "$REPO_ROOT" && cargo build --release -p hoist)
fi
for tool in docker-registry skopeo umoci python3 "$RUNTIME"; do
    command -v "$tool" >/dev/null || { echo "bench-pull: $tool is not installed" >&2; exit 1; }
done

WORK=$(mktemp -d /var/tmp/bench-pull.XXXXXX)
REG_PID=""
cleanup() {
    set +e
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
    grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry-data
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve "$WORK/registry.yml" >/dev/null 2>&1 &
REG_PID=$!
for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
    sleep 0.05
done
REG=127.0.0.1:$PORT
printf '{"registries":{"%s":{"insecure":true}}}\n' "$REG" >"$WORK/registries.json"

# --- test images: OCI layouts written here, pushed with skopeo -------------------
make_layer() { # DIR -> gzipped tar of DIR's contents on stdout
    tar -C "$1" --numeric-owner -cf - . | gzip -1
}
mkdir -p "$WORK/src/busybox/bin" "$WORK/src/busybox/etc"
cp /bin/busybox "$WORK/src/busybox/bin/"
for a in sh true ls cat; do ln -sf busybox "$WORK/src/busybox/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/src/busybox/etc/passwd"
echo 'root:x:0:' >"$WORK/src/busybox/etc/group"
make_layer "$WORK/src/busybox" >"$WORK/l-busybox.tgz"
make_layer /usr/lib/python3.11 >"$WORK/l-python.tgz"   # many small files
make_layer /usr/lib/gcc >"$WORK/l-gcc.tgz"              # fewer, bigger files

write_layout() { # LAYOUT_DIR TAG LAYER...
    python3 - "$@" <<'PY'
import gzip, hashlib, json, os, shutil, sys
out, tag, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
blobs = os.path.join(out, "blobs", "sha256"); os.makedirs(blobs, exist_ok=True)
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(os.path.join(blobs, d), "wb").write(b); return "sha256:" + d
descs, diff_ids = [], []
for l in layers:
    data = open(l, "rb").read()
    diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest())
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(data), "size": len(data)})
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
cfg = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
                  "layers": descs}).encode()
md = put(man)
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
           "size": len(man), "annotations": {"org.opencontainers.image.ref.name": tag}}]}, open(os.path.join(out, "index.json"), "w"))
PY
}
write_layout "$WORK/layout-small" v1 "$WORK/l-busybox.tgz"
write_layout "$WORK/layout-big" v1 "$WORK/l-busybox.tgz" "$WORK/l-python.tgz" "$WORK/l-gcc.tgz"
skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout-small:v1" "docker://$REG/bench/small:v1"
skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout-big:v1" "docker://$REG/bench/big:v1"

# --- timing helpers -------------------------------------------------------------
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
time_ms() { # command... -> elapsed ms on stdout
    local t0 t1
    t0=$(now_ms); "$@" >/dev/null 2>&1 || { echo "bench-pull: failed: $*" >&2; exit 1; }; t1=$(now_ms)
    echo $((t1 - t0))
}
H=("$HOIST" --registry-config "$WORK/registries.json" -q)

hoist_cold() { rm -rf "$WORK/hs" "$WORK/hr"; sync; time_ms sh -c "\"\$@\" --root $WORK/hs pull $1 && \"\$@\" --root $WORK/hs unpack $1 $WORK/hr" _ "${H[@]}"; }
hoist_warm() { rm -rf "$WORK/hr"; time_ms sh -c "\"\$@\" --root $WORK/hs pull $1 && \"\$@\" --root $WORK/hs unpack $1 $WORK/hr" _ "${H[@]}"; }
skumoci_cold() { rm -rf "$WORK/sl" "$WORK/sb"; sync; time_ms sh -c "skopeo copy -q --src-tls-verify=false docker://$1 oci:$WORK/sl:x && umoci unpack --image $WORK/sl:x $WORK/sb"; }
skumoci_warm() { rm -rf "$WORK/sb"; time_ms sh -c "skopeo copy -q --src-tls-verify=false docker://$1 oci:$WORK/sl:x && umoci unpack --image $WORK/sl:x $WORK/sb"; }

row() { # label hoist_median other_median
    awk -v l="$1" -v h="$2" -v o="$3" 'BEGIN { printf "%-28s %10d %14d %8.2fx\n", l, h, o, (h > 0 ? o / h : 0) }'
}

echo "hoist: $HOIST ($("$HOIST" --version))  runs: $N  registry: $REG"
printf '%-28s %10s %14s %9s\n' "case (median ms)" "hoist" "skopeo+umoci" "ratio"
for img in small big; do
    ref="$REG/bench/$img:v1"
    hc=(); hw=(); sc=(); sw=()
    for _ in $(seq "$N"); do
        hc+=("$(hoist_cold "$ref")"); hw+=("$(hoist_warm "$ref")")
        sc+=("$(skumoci_cold "$ref")"); sw+=("$(skumoci_warm "$ref")")
    done
    row "$img cold (pull+unpack)" "$(printf '%s\n' "${hc[@]}" | median)" "$(printf '%s\n' "${sc[@]}" | median)"
    row "$img warm (pull+unpack)" "$(printf '%s\n' "${hw[@]}" | median)" "$(printf '%s\n' "${sw[@]}" | median)"
done

# --- cached `hoist run` vs the runtime alone on a ready bundle --------------------
ref="$REG/bench/small:v1"
"${H[@]}" --root "$WORK/hs" pull "$ref" >/dev/null
"${H[@]}" --root "$WORK/hs" bundle --copy "$ref" "$WORK/ready" -- /bin/true
hr=(); rr=(); i=0
for _ in $(seq "$N"); do
    i=$((i + 1))
    hr+=("$(time_ms "${H[@]}" --root "$WORK/hs" run --rm --runtime "$RUNTIME" "$ref" /bin/true)")
    rr+=("$(time_ms "$RUNTIME" run --bundle "$WORK/ready" "bench-$$-$i")")
done
printf '%-28s %10s %14s %9s\n' "" "hoist run" "$RUNTIME run" "overhead"
awk -v h="$(printf '%s\n' "${hr[@]}" | median)" -v r="$(printf '%s\n' "${rr[@]}" | median)" \
    'BEGIN { printf "%-28s %10d %14d %8d ms\n", "cached run of /bin/true", h, r, h - r }'
