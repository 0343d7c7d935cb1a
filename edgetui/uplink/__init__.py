"""The MQTT uplink: drains the outbox to a broker at QoS 1 and says why it cannot.

Offers `Uplink`, the service (named "buffer" in the status) that owns the connection: it
builds the paho client (`client`), runs the drain thread (`drain`) and classifies every
failure in a technician's words (`errors`).
"""

from edgetui.uplink.service import Uplink

__all__ = ["Uplink"]
