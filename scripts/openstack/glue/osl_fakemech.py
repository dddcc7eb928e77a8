"""ML2 mechanism driver for Coffer's loopback OpenStack: binds every port on every host, no agent.

Neutron without agents cannot bind ports, and Nova fails a boot whose port binding failed; the
in-tree `test` driver binds only magic host names. Registered as `bindall` through the entry point
in osl_fakemech-1.0.dist-info (ML2 loads mechanism drivers by entry-point name only).
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: True},
                                status=constants.PORT_STATUS_ACTIVE)
            return
