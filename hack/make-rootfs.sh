#!/bin/sh
# Makes a test rootfs at DIR: the static checker at /checker, a copy of the
# static /bin/busybox with applet links, /etc/passwd and /etc/group, and
# empty mount points. (The spec-tests harness does the same in Rust.)
# Usage: hack/make-rootfs.sh DIR [CHECKER]
set -eu
dir="${1:?usage: hack/make-rootfs.sh DIR [CHECKER]}"
here="$(cd "$(dirname "$0")/.." && pwd)"
checker="${2:-${CHECKER_BIN:-$here/target/spec-tests/checker}}"
[ -x "$checker" ] || checker="$("$here/hack/build-checker.sh")"
mkdir -p "$dir"
for d in bin proc dev sys tmp etc root run mnt; do mkdir -p "$dir/$d"; done
chmod 1777 "$dir/tmp"
cp "$checker" "$dir/checker"
cp /bin/busybox "$dir/bin/busybox"
for a in sh true false cat echo ls sleep mkdir touch id env test stat readlink grep kill; do
	ln -sf busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nuser:x:1000:\nextra:x:2000:user\n' >"$dir/etc/group"
echo "$dir"
