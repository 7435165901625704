#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A real Debian guest for the fleet tests (make check-fleet): a root file
# system made from Debian's archive with mmdebstrap (systemd, apt, dpkg,
# openssh-server), booted in QEMU on the Debian-configuration kernel from a
# virtio disk, reached over ssh on a 127.0.0.1 port.
#
#   debian-guest.sh image DIR         make DIR/disk.img (and DIR/initrd.gz, DIR/id)
#   debian-guest.sh start DIR PORT    boot it in the background, wait for ssh
#   debian-guest.sh boot DIR PORT     boot it in the background
#   debian-guest.sh wait DIR          wait until it answers over ssh
#   debian-guest.sh ssh DIR CMD...    run CMD in it as root
#   debian-guest.sh stop DIR          power it off (or kill QEMU after 60 s)
#
# The root file system is cached in $SPLICE_CACHE/guest (keyed by the suite
# and the package list); the disk is made afresh from it for every run, so a
# run starts from an installed system that has never seen a pack.
. "$(dirname "$0")/lib.sh"

SUITE=${GUEST_SUITE:-bookworm}
MIRROR=${GUEST_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd-sysv,dbus,udev,kmod,openssh-server,apt,dpkg,iproute2,procps,python3,ca-certificates
cache=$SPLICE_CACHE/guest
key=$(echo "$SUITE $PACKAGES" | sha256sum | cut -c1-12)
rootfs=$cache/$SUITE-$key.tar

# The rootfs tarball, from the archive once per suite and package list.
rootfs() {
	[ -f "$rootfs" ] && [ -s "$rootfs" ] && return 0
	command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
	mkdir -p "$cache"
	say "making a Debian $SUITE root file system with mmdebstrap (cached: $rootfs)"
	local log=$SPLICE_LOGS/guest-mmdebstrap.log
	# The name ends in .tar: mmdebstrap picks the format by it.
	local tmp=$cache/partial-$key.tar
	rm -rf "$tmp" "$rootfs"
	run_logged "$log" mmdebstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR" ||
		die "mmdebstrap could not make the $SUITE root file system (log: $log)"
	mv "$tmp" "$rootfs"
}

# The initramfs: busybox loads the disk driver, mounts the disk and hands over
# to systemd on it.
initrd() {
	local dir=$1 mods=$2 busybox
	busybox=$(command -v busybox || echo /bin/busybox)
	local r
	r=$(mktemp -d "$dir/initrd.XXXXXX")
	mkdir -p "$r"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$busybox" "$r/bin/busybox"
	cp "$mods"/virtio_blk.ko "$r/lib/modules/"
	cat >"$r/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox --install -s /bin
		mount -t proc proc /proc
		mount -t sysfs sys /sys
		mount -t devtmpfs dev /dev
		insmod /lib/modules/virtio_blk.ko
		i=0
		while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		mount -o rw /dev/vda /newroot || { echo "init: cannot mount /dev/vda"; exec sh; }
		umount /proc /sys
		mount --move /dev /newroot/dev
		exec switch_root /newroot /sbin/init
	EOF
	chmod +x "$r/init"
	(cd "$r" && find . | cpio -o -H newc --owner=0:0 --quiet | gzip -1) >"$dir/initrd.gz"
	rm -rf "$r"
}

image() {
	local dir=$1
	local rel mods root
	rel=$(cat "$KERNEL_TREE/include/config/kernel.release") || die "$KERNEL_TREE is not built"
	rootfs
	rm -rf "$dir"
	mkdir -p "$dir"
	mods=$dir/modules
	mkdir -p "$mods"
	for m in drivers/block/virtio_blk.ko drivers/net/vmxnet3/vmxnet3.ko; do
		[ -f "$KERNEL_TREE/$m" ] || die "$KERNEL_TREE/$m is not built (build-kernel.sh builds it for SPLICE_CONFIG=debian)"
		cp "$KERNEL_TREE/$m" "$mods/"
	done
	initrd "$dir" "$mods"
	root=$dir/root
	mkdir -p "$root"
	tar -C "$root" -xf "$rootfs"
	# The kernel's modules where kmod finds them.
	mkdir -p "$root/lib/modules/$rel/kernel"
	cp "$mods"/*.ko "$root/lib/modules/$rel/kernel/"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		if [ -f "$KERNEL_TREE/$f" ]; then cp "$KERNEL_TREE/$f" "$root/lib/modules/$rel/"; else : >"$root/lib/modules/$rel/$f"; fi
	done
	chroot "$root" depmod "$rel"
	echo "splice-guest" >"$root/etc/hostname"
	echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
	# The network by systemd-networkd: DHCP from QEMU's user network.
	mkdir -p "$root/etc/systemd/network"
	printf '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/20-eth0.network"
	ln -sf /lib/systemd/system/systemd-networkd.service \
		"$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
	# No password; the host's key for root over ssh.
	sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/id" -C splice-fleet
	mkdir -p -m 700 "$root/root/.ssh"
	cp "$dir/id.pub" "$root/root/.ssh/authorized_keys"
	# The running kernel, as Debian's package of it would be installed: packs
	# depend on linux-image-<release>.
	local kpkg=$dir/kpkg
	mkdir -p "$kpkg/DEBIAN"
	printf 'Package: linux-image-%s\nVersion: %s\nArchitecture: amd64\nMaintainer: splice <splice@localhost>\nDescription: the kernel the guest boots (QEMU -kernel)\n' \
		"$rel" "$rel" >"$kpkg/DEBIAN/control"
	dpkg-deb -b --root-owner-group "$kpkg" "$root/root/linux-image.deb" >/dev/null
	chroot "$root" dpkg -i /root/linux-image.deb >/dev/null
	rm "$root/root/linux-image.deb"
	# splice: the command, and the service that reapplies packs at boot.
	install -m 755 "$SPLICE_TOOLS/splice" "$root/usr/sbin/splice"
	install -m 644 "$SPLICE_SRC/tools/splice/systemd/splice.service" "$root/etc/systemd/system/"
	mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
	ln -sf ../splice.service "$root/etc/systemd/system/sysinit.target.wants/splice.service"
	truncate -s 2G "$dir/disk.img"
	run_logged "$SPLICE_LOGS/guest-mkfs.log" mkfs.ext4 -q -F -d "$root" "$dir/disk.img" ||
		die "mkfs.ext4 could not make the guest's disk (log: $SPLICE_LOGS/guest-mkfs.log)"
	rm -rf "$root"
	say "Debian $SUITE guest disk: $dir/disk.img (kernel $rel)"
}

ssh_() {
	local dir=$1
	shift
	ssh -q -i "$dir/id" -p "$(cat "$dir/port")" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o BatchMode=yes root@127.0.0.1 "$@"
}

# boot DIR PORT: start QEMU in the background (a reboot of the guest restarts
# it, with the same command line; a panic reboots it at once).
boot() {
	local dir=$1 port=$2
	echo "$port" >"$dir/port"
	# Appended to: a test reads what the boots before printed (a crash).
	touch "$dir/console.log"
	qemu-system-x86_64 -M pc -cpu max -accel tcg,thread=single -smp 2 -m 2G -display none \
		-kernel "$KERNEL_TREE/arch/x86/boot/bzImage" -initrd "$dir/initrd.gz" \
		-drive "file=$dir/disk.img,if=virtio,format=raw" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device vmxnet3,netdev=n0 \
		-append "console=ttyS0 net.ifnames=0 panic=-1 ${GUEST_APPEND:-}" \
		-chardev "file,id=c0,path=$dir/console.log,append=on" -serial chardev:c0 -pidfile "$dir/qemu.pid" -daemonize ||
		die "QEMU did not start the guest"
}

start() {
	boot "$1" "$2"
	wait_ssh "$1"
}

# wait_ssh DIR: until the guest answers over ssh (10 minutes at most: a
# Debian boot under TCG takes one or two).
wait_ssh() {
	local dir=$1 i=0
	while ! ssh_ "$dir" true 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 120 ] || die "the guest did not answer over ssh in 10 minutes (console: $dir/console.log)"
		[ -e "$dir/qemu.pid" ] && kill -0 "$(cat "$dir/qemu.pid")" 2>/dev/null ||
			die "the guest stopped while booting (console: $dir/console.log)"
		sleep 5
	done
}

stop() {
	local dir=$1 pid i=0
	pid=$(cat "$dir/qemu.pid" 2>/dev/null) || return 0
	ssh_ "$dir" poweroff 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 60 ] || { kill "$pid"; break; }
		sleep 1
	done
	rm -f "$dir/qemu.pid"
}

case ${1:-} in
image) image "$2" ;;
start) start "$2" "$3" ;;
boot) boot "$2" "$3" ;;
wait) wait_ssh "$2" ;;
ssh) d=$2; shift 2; ssh_ "$d" "$@" ;;
stop) stop "$2" ;;
*) die "usage: debian-guest.sh image|start|ssh|stop DIR ..." ;;
esac
