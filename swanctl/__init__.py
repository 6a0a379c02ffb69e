"""A Python swanctl: strongSwan's vici command-line client, text-identical, plus JSON output.

It talks to charon or vicid over vici and does not depend on the vicid package.
"""

# The strongSwan swanctl release whose options, texts and exit codes this client reproduces.
SWANCTL_VERSION = "6.1.0"
