"""charon's one-line message summaries (``message.c`` get_string), e.g.

    generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) ]

with the short payload and notify names of ``payload.c``/``notify_payload.c``. These lines are
what ``swanctl --initiate`` shows, so they are worth matching exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

from vicid.ike.messages import exchange_name
from vicid.ike.wire.payloads import Payload, SkfPayload, UnknownPayload

PAYLOAD_SHORT = {0: "--", 33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ",
                 39: "AUTH", 40: "No", 41: "N", 42: "D", 43: "V", 44: "TSi", 45: "TSr", 46: "E",
                 47: "CP", 48: "EAP", 49: "GSPM", 50: "IDg", 51: "GSA", 52: "KD", 53: "EF"}

_STATUS_SHORT = (
    "INIT_CONTACT", "SET_WINSIZE", "ADD_TS_POSS", "IPCOMP_SUP", "NATD_S_IP", "NATD_D_IP", "COOKIE",
    "USE_TRANSP", "HTTP_CERT_LOOK", "REKEY_SA", "ESP_TFC_PAD_N", "NON_FIRST_FRAG", "MOBIKE_SUP",
    "ADD_4_ADDR", "ADD_6_ADDR", "NO_ADD_ADDR", "UPD_SA_ADDR", "COOKIE2", "NO_NATS", "AUTH_LFT",
    "MULT_AUTH", "AUTH_FOLLOWS", "REDIR_SUP", "REDIR", "REDIR_FROM", "TKT_LT_OPAK", "TKT_REQ",
    "TKT_ACK", "TKT_NACK", "TKT_OPAK", "LINK_ID", "WESP_MODE", "ROHC_SUP", "EAP_ONLY", "CHDLESS_SUP",
    "CRASH_DET", "MSG_ID_SYN_SUP", "RPL_CTR_SYN_SUP", "MSG_ID_SYN", "RPL_CTR_SYN", "SEC_PASSWD",
    "PSK_PST", "PSK_CFM", "ERX_SUP", "IFOM_CAP", "SENDER_REQ_ID", "FRAG_SUP", "HASH_ALG")
NOTIFY_SHORT: dict[int, str] = {
    1: "CRIT", 4: "INVAL_IKE_SPI", 5: "INVAL_MAJOR", 7: "INVAL_SYN", 9: "INVAL_MID", 11: "INVAL_SPI",
    13: "ATTR_UNSUP", 14: "NO_PROP", 16: "PLD_MAL", 17: "INVAL_KE", 18: "INVAL_ID", 19: "INVAL_CERTEN",
    20: "INVAL_CERT", 21: "CERT_UNSUP", 22: "INVAL_CA", 23: "INVAL_HASH", 24: "AUTH_FAILED",
    34: "SINGLE_PAIR", 35: "NO_ADD_SAS", 36: "INT_ADDR_FAIL", 37: "FAIL_CP_REQ", 38: "TS_UNACCEPT",
    39: "INVAL_SEL", 40: "UNACCEPT_ADDR", 41: "UNEXPECT_NAT", 42: "ASSIGNED_HoA", 43: "TEMP_FAIL",
    44: "NO_CHILD_SA", 47: "NO_STATE", 48: "MAX_QUEUE",
    **{16384 + i: name for i, name in enumerate(_STATUS_SHORT)},
    16435: "USE_PPK", 16436: "PPK_ID", 16437: "NO_PPK", 16438: "IKE_INT_SUP", 16441: "ADD_KE",
    16442: "AGGFRAG", 16444: "RES_INFO", 40961: "BEET_MODE"}


_CFG_SHORT = {1: "RQ", 2: "RP", 3: "S", 4: "A"}
_CP_SHORT = ("ADDR", "MASK", "DNS", "NBNS", "EXP", "DHCP", "VER", "ADDR6", "MASK6", "DNS6", "NBNS6", "DHCP6",
             "SUBNET", "SUP", "SUBNET6", "MIP6HPFX", "LINK6", "PFX6", "HOA", "PCSCF4", "PCSCF6", "FTTKAT",
             "EXTSRC4", "DPD", "DOMAIN", "TA")
_UNITY_SHORT = ("U_BANNER", "U_SAVEPWD", "U_DEFDOM", "U_SPLITDNS", "U_SPLITINC", "U_NATTPORT", "U_LOCALLAN",
                "U_PFS", "U_FWTYPE", "U_BKPSRV", "U_DDNSHOST")
CP_ATTR_SHORT: dict[int, str] = {
    **{1 + i: name for i, name in enumerate(_CP_SHORT)}, 23456: "SRV", 23457: "SRV6",
    **{28672 + i: name for i, name in enumerate(_UNITY_SHORT)}}
"""charon's ``configuration_attribute_type_short_names`` (IKEv2 and proprietary types)."""


def _payload(p: Payload) -> str:
    if isinstance(p, UnknownPayload):
        return f"UNKN({p.payload_type})"
    text = PAYLOAD_SHORT.get(p.payload_type, f"({p.payload_type})")
    if p.payload_type == 41:
        return f"{text}({NOTIFY_SHORT.get(p.notify_type, f'({p.notify_type})')})"
    if isinstance(p, SkfPayload):
        return f"{text}({p.number}/{p.total})"
    if p.payload_type == 47 and p.attributes:  # CPRQ(ADDR DNS): CFG type and attributes
        names = " ".join(CP_ATTR_SHORT.get(a.attr_type, f"({a.attr_type})") for a in p.attributes)
        return f"{text}{_CFG_SHORT.get(p.cfg_type, '')}({names})"
    return text


def describe(exchange: int, is_request: bool, message_id: int, payloads: Iterable[Payload]) -> str:
    """``IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr ]``."""
    items = "".join(f" {_payload(p)}" for p in payloads)
    return f"{exchange_name(exchange)} {'request' if is_request else 'response'} {message_id} [{items} ]"


def endpoint(ep) -> str:
    """charon's ``%#H``."""
    return f"{ep[0]}[{ep[1]}]"
