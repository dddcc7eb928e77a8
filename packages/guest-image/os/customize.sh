#!/bin/sh
# mmdebstrap's customize hook for the guest image's OS root: $1 is the root directory.
# What a server of any cloud needs and no Coffer code: networking by DHCP, the root
# filesystem by label, a serial console, and nothing started that the guest agent runs itself.
set -eu
root="$1"

echo coffer-guest > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tcoffer-guest\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
echo 'LABEL=coffer-root / ext4 rw,errors=remount-ro 0 1' > "$root/etc/fstab"
# A fresh machine id per server (systemd makes one at first boot).
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# DHCP on every Ethernet interface (Nova's port, QEMU's user network).
mkdir -p "$root/etc/systemd/network"
cat > "$root/etc/systemd/network/20-coffer-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

# Drivers a database server never uses are not loaded at boot (each costs seconds without KVM).
cat > "$root/etc/modprobe.d/coffer-blacklist.conf" <<'MOD'
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist cfg80211
blacklist pcspkr
blacklist snd_pcsp
blacklist floppy
blacklist joydev
blacklist powernow_k8
MOD

# The packaged MariaDB never starts: the guest agent runs its own mariadbd on the volume.
chroot "$root" systemctl mask mariadb.service
# Nothing periodic competes with the database on a small server.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service
# The packaged datadir is not used (the server's lives on the volume); the apt lists are
# the build's, not the server's.
rm -rf "$root/var/lib/mysql" "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin
