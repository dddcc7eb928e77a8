#!/bin/sh
# mmdebstrap's essential hook (before the kernel is installed): $1 is the root directory.
# A small initramfs, made once: only what finds an ext4 root on a virtio (or SCSI) disk, not
# every driver of MODULES=most (30 MB, minutes to make, seconds to unpack at every boot); and
# the virtio NIC's driver, loaded before the root is mounted: left to udev's coldplug, a boot
# slowed down enough (software emulation on a loaded machine) never loaded it, and the guest
# never reached its control plane.
set -eu
root="$1"
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
echo 'MODULES=list' > "$root/etc/initramfs-tools/conf.d/coffer.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi virtio_net sd_mod ext4 crc32c_generic \
  > "$root/usr/share/initramfs-tools/modules.d/coffer"
