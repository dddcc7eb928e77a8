"""Cinder volume driver for Coffer's loopback OpenStack.

Cinder's own functional tests' FakeLoggingVolumeDriver (shipped in python3-cinder): create, delete,
attach, detach and snapshot without LVM or iSCSI; its FakeBrickLVM lacks extend, added as a no-op.
"""
from cinder.tests import fake_driver


class FakeVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    def extend_volume(self, volume, new_size):
        pass
