"""EAP-MSCHAPv2: not implemented yet (issue #9 follow-up).

The method is registered so that a configured ``eap-mschapv2`` fails with charon's messages
(``initiating EAP_MSCHAPV2 method failed`` / ``EAP_MSCHAPV2 method failed``) instead of an
unknown-method error; it needs MD4 (NT hash, no OpenSSL 3 default provider) and single DES.
"""

from __future__ import annotations

from vicid.ike.authenticators.eap_methods import EAP_MSCHAPV2, EapMethod


class MsChapV2Method(EapMethod):
    eap_type = EAP_MSCHAPV2
    mutual = True
