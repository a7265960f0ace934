#!/bin/bash
# Runs a command in a small VM whose only cgroup hierarchy is cgroup v2, to
# test berth's v2 code on a host that is hybrid.
#
#   hack/cgroup2-vm.sh                 # build and run the cgroups tests
#   hack/cgroup2-vm.sh -- CMD ARGS...  # run CMD (a host path) instead
#
# The guest boots Debian's kernel (linux-image-amd64) through its PVH entry
# under TCG, with a busybox initramfs built here. It sees the host's / read-only
# and this workspace read-write over virtio-9p, mounts cgroup2 at
# /sys/fs/cgroup with every controller delegated, chroots into the host's
# root, runs the command as root, prints "BERTH_VM_STATUS=<code>" on the
# serial console and powers off. Exit status: the command's.
# Needs: the packages in hack/deps/cgroups.apt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# The guest runs $work/cmd.sh, so $work must stay inside the workspace.
work=$root/target/cgroup2-vm
mem=${BERTH_VM_MEM:-1G}
timeout_s=${BERTH_VM_TIMEOUT:-1800}
mkdir -p "$work"

die() { echo "cgroup2-vm: $*" >&2; exit 2; }

# The command to run in the guest.
if [ "${1:-}" = "--" ]; then
	shift
	[ $# -gt 0 ] || die "no command after --"
	cmd=("$@")
else
	echo "cgroup2-vm: building the berth unit tests" >&2
	bin=$(cd "$root" && cargo test -p berth --lib --no-run --message-format=json |
		sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
	[ -n "$bin" ] && [ -x "$bin" ] || die "could not build the berth test binary"
	cmd=("$bin" "cgroups::" "--test-threads=2")
fi

# --- kernel: the newest Debian kernel, decompressed once to an ELF vmlinux
kernel_img=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel_img" ] || die "no /boot/vmlinuz-*; install linux-image-amd64"
kver=${kernel_img#/boot/vmlinuz-}
moddir=/lib/modules/$kver
vmlinux=$work/vmlinux-$kver

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ]; }

# Finds each compressed-stream magic in the bzImage and tries to
# decompress from there until the result is an ELF file (what the kernel
# tree's extract-vmlinux does).
extract_vmlinux() {
	local img=$1 out=$2 magic tool off
	for pair in '\x1f\x8b\x08:gzip -dc' '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -dc' \
		'BZh:bzip2 -dc' '\x5d\x00\x00\x00:lzma -dc' '\x02\x21\x4c\x18:lz4 -dc'; do
		magic=${pair%%:*}
		tool=${pair#*:}
		command -v "${tool%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1); do
			tail -c +$((off + 1)) "$img" | $tool >"$out.tmp" 2>/dev/null || true
			if [ -s "$out.tmp" ] && is_elf "$out.tmp"; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

if [ ! -s "$vmlinux" ]; then
	echo "cgroup2-vm: extracting vmlinux from $kernel_img" >&2
	extract_vmlinux "$kernel_img" "$vmlinux" || die "could not extract an ELF vmlinux from $kernel_img"
fi

# --- initramfs: busybox, the virtio/9p modules, and /init
initrd=$work/initrd-$kver.cpio.gz
if [ ! -s "$initrd" ] || [ "$0" -nt "$initrd" ]; then
	echo "cgroup2-vm: building the initramfs" >&2
	tree=$work/initramfs
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,dev,proc,sys,host,lib/modules}
	cp /bin/busybox "$tree/bin/busybox"
	# The modules and their dependencies, dependencies first.
	: >"$tree/modules.order"
	add_module() {
		local name=$1 line path dep
		line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1) ||
			die "module $name is not in $moddir/modules.dep"
		path=${line%%:*}
		for dep in ${line#*:}; do
			dep=$(basename "$dep")
			add_module "${dep%%.ko*}"
		done
		grep -qxF "$(basename "$path")" "$tree/modules.order" && return 0
		case $path in
		*.ko) cp "$moddir/$path" "$tree/lib/modules/" ;;
		*.ko.xz) xz -dc "$moddir/$path" >"$tree/lib/modules/$(basename "${path%.xz}")" ;;
		*.ko.zst) zstd -dc "$moddir/$path" >"$tree/lib/modules/$(basename "${path%.zst}")" ;;
		esac
		basename "${path%.ko*}.ko" >>"$tree/modules.order"
	}
	for m in virtio_pci 9pnet_virtio 9p; do
		if grep -q "^CONFIG_$(echo "$m" | tr a-z A-Z)=y" "/boot/config-$kver" 2>/dev/null; then continue; fi
		add_module "$m"
	done
	cat >"$tree/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null; done
report() { echo "BERTH_VM_STATUS=$1" >/dev/ttyS0; sync; poweroff -f; }
arg() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" /proc/cmdline; }
workspace=$(arg berth.workspace)
opts=trans=virtio,version=9p2000.L,msize=262144,cache=loose
mount -t 9p -o $opts,ro hostroot /host || report 125
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
mount -t devtmpfs dev /host/dev
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
# After the tmpfs mounts, so a workspace under /tmp or /run is not hidden;
# its mount point is made when it lies inside one of them.
mkdir -p /host$workspace 2>/dev/null
mount -t 9p -o $opts work /host$workspace || report 125
# Delegate every controller from the root, as systemd does on v2 hosts.
for c in $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || cat /host/sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/host/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
cd /host$workspace
chroot /host /bin/sh -c "cd $workspace && exec /bin/sh $workspace/target/cgroup2-vm/cmd.sh" </dev/null >/dev/ttyS0 2>&1
report $?
INIT
	chmod +x "$tree/init"
	(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi

# --- the command, as a script the guest runs from the workspace
{
	echo "export RUST_BACKTRACE=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp"
	printf '%q ' "${cmd[@]}"
	echo
} >"$work/cmd.sh"

# --- boot
log=$work/console.log
echo "cgroup2-vm: booting $kver under TCG (console in $log)" >&2
set +e
timeout "$timeout_s" qemu-system-x86_64 \
	-accel tcg,thread=single -smp 2 -m "$mem" \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial stdio \
	-kernel "$vmlinux" -initrd "$initrd" \
	-append "console=ttyS0 pci=noacpi cryptomgr.notests cgroup_no_v1=all quiet panic=-1 berth.workspace=$root" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$root,mount_tag=work,security_model=none,multidevs=remap" \
	</dev/null | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
status=$(sed -n 's/.*BERTH_VM_STATUS=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$status" ]; then
	die "the guest reported no status (qemu exit $qemu_rc; see $log)"
fi
exit "$status"
