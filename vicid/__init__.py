"""vicid: an IKEv2 daemon driven through strongSwan's vici protocol."""

__version__ = "0.1.0"
# The strongSwan release whose vici behaviour and swanctl.conf semantics vicid follows.
STRONGSWAN_VERSION = "6.1.0"
