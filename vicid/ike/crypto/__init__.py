"""Pure crypto for the IKEv2 engine: PRFs and key derivation, SK protection, AUTH octets."""
