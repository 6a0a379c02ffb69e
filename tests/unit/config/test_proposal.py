"""Proposal parsing, normalisation, rendering and selection (charon 6.1 behaviour)."""

import charon61_cases as charon
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vicid.ike.proposal import (
    Proposal,
    ProposalError,
    Transform,
    create_default,
    default_proposals,
    lookup_token,
    parse_proposal,
    parse_proposals,
    proposals_str,
    select_proposal,
)
from vicid.ike.proposal_keywords import KEYWORDS
from vicid.ike.wire.enums import KeMethod, ProtocolId, TransformType

IKE, ESP, AH = ProtocolId.IKE, ProtocolId.ESP, ProtocolId.AH
T = TransformType


def _items(value: str) -> list[str]:
    return value.split(",") if "," in value else [value]


def _render(proto: ProtocolId, value: str) -> str | None:
    try:
        return proposals_str(parse_proposals(proto, _items(value)))
    except ProposalError:
        return None


# --- keywords -----------------------------------------------------------------------------------

def test_keyword_table_has_153_entries():
    assert len(KEYWORDS) == 153


@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
def test_every_keyword_parses(keyword):
    assert lookup_token(keyword) == KEYWORDS[keyword]
    ttype = KEYWORDS[keyword][0]
    if ttype == T.KE:
        for n in range(1, 8):
            assert lookup_token(f"ke{n}_{keyword}") == (T.ADDKE1 + n - 1, *KEYWORDS[keyword][1:])


def test_keywords_are_case_sensitive_but_ke_prefix_is_not():
    assert lookup_token("AES256") is None
    assert lookup_token("ke1_MLKEM768") is None
    assert lookup_token("KE1_mlkem768") == (T.ADDKE1, KeMethod.ML_KEM_768, 0)
    assert lookup_token("ke0_x25519") is None
    assert lookup_token("ke8_x25519") is None
    assert lookup_token("ke1_aes128") is None


# --- charon 6.1 ground truth ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), sorted(charon.IKE.items()))
def test_ike_matches_charon61(value, expected):
    assert _render(IKE, value) == expected


@pytest.mark.parametrize(("value", "expected"), sorted(charon.ESP.items()))
def test_esp_matches_charon61(value, expected):
    assert _render(ESP, value) == expected


@pytest.mark.parametrize(("value", "expected"), sorted(charon.AH.items()))
def test_ah_matches_charon61(value, expected):
    assert _render(AH, value) == expected


# --- normalisation and errors (messages checked against charon 6.1's log) -----------------------

@pytest.mark.parametrize(("proto", "value", "message"), [
    (IKE, "aes128-sha256_96-ecp256", "a PRF algorithm is mandatory in IKE proposals"),
    (IKE, "aes256gcm16-x25519-ke1_mlkem768", "a PRF algorithm is mandatory in IKE proposals"),
    (IKE, "aes128-sha256", "a DH group is mandatory in IKE proposals"),
    (IKE, "aes128-sha256-none", "a DH group is mandatory in IKE proposals"),
    (IKE, "prfsha256-x25519", "an encryption algorithm is mandatory in IKE proposals"),
    (IKE, "aes128-prfsha256-x25519", "an integrity algorithm is mandatory in IKE proposals with "
                                     "classic (non-AEAD) encryption algorithms"),
    (IKE, "aes128gcm16-aes128-prfsha256-x25519", "classic and combined-mode (AEAD) encryption "
                                                  "algorithms can't be contained in the same IKE proposal"),
    (ESP, "sha256", "an encryption algorithm is mandatory in ESP proposals"),
    (AH, "aes128", "an integrity algorithm is mandatory in AH proposals"),
    (IKE, "aes256-sha256-modp2048!", "algorithm 'modp2048!' not recognized"),
    (IKE, "aes128-sha256-x25519-ke8_mlkem768", "algorithm 'ke8_mlkem768' not recognized"),
    (IKE, "aes128-sha256-x25519-ke1_ke2_x25519", "algorithm 'ke1_ke2_x25519' not recognized"),
])
def test_invalid_proposals(proto, value, message):
    with pytest.raises(ProposalError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        parse_proposal(proto, value)


@pytest.mark.parametrize("value", ["", "-", " - ", "''"])
def test_empty_proposals_are_invalid(value):
    with pytest.raises(ProposalError):
        parse_proposal(IKE, value)


def test_token_rules():
    # empty fields vanish, spaces are trimmed, quotes protect a token (charon 6.1: same result)
    base = str(parse_proposal(IKE, "aes128-sha256-x25519"))
    assert str(parse_proposal(IKE, "aes128--sha256-x25519-")) == base
    assert str(parse_proposal(IKE, " aes128 - sha256 - x25519 ")) == base
    # via swanctl.conf the quotes are eaten by swanctl's list splitting; via vici they work
    assert str(parse_proposal(IKE, "'aes128'-sha256-x25519")) == base
    # sscanf("%2s%1u_%255s") quirks, checked against charon 6.1
    assert str(parse_proposal(IKE, "aes128-sha256-x25519-ke 1_mlkem768")).endswith("/KE1_ML_KEM_768")
    assert str(parse_proposal(IKE, "aes128-sha256-x25519-ke2_mlkem768 foo")).endswith("/KE2_ML_KEM_768")


def test_normalisation_details():
    p = parse_proposal(IKE, "aes128gcm16-sha256-ecp256")
    assert p.algorithms(T.INTEG) == ()
    assert p.algorithms(T.PRF) == (Transform(T.PRF, 5),)
    esp = parse_proposal(ESP, "aes128-prfsha256-sha256")
    assert esp.algorithms(T.PRF) == () and esp.algorithms(T.ESN) == (Transform(T.ESN, 0),)
    # duplicates are kept (charon 6.1 prints AES_CBC_128/AES_CBC_128)
    assert len(parse_proposal(IKE, "aes128-aes128-sha256-x25519").algorithms(T.ENCR)) == 2
    assert parse_proposal(ESP, "aes128-x25519-none-ke1_mlkem768-ke1_none").ke_methods == {
        T.KE: (31, 0), T.ADDKE1: (36, 0)}


def test_ah_gmac_without_other_integrity_is_kept():
    # charon 6.1 loads this but "loses" the converted GMAC entry from its type list (it prints
    # AH:CURVE_25519/NO_EXT_SEQ and would negotiate AH without integrity); we keep the integrity
    assert str(parse_proposal(AH, "aes256gmac-aes128-3des-x25519")) == "AH:AES_256_GMAC/CURVE_25519/NO_EXT_SEQ"


def test_rendering_examples():
    assert str(parse_proposal(IKE, "aes256gcm16-prfsha512-x25519-ke1_mlkem768")) == \
        "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/CURVE_25519/KE1_ML_KEM_768"
    assert str(parse_proposal(ESP, "aes256gcm16")) == "ESP:AES_GCM_16_256/NO_EXT_SEQ"
    # ESN sorts before the ADDKE types when printing (charon 6.1: ESP:…/EXT_SEQ/KE1_ML_KEM_768)
    assert str(parse_proposal(ESP, "aes128gcm16-x25519-ke1_mlkem768-esn")) == \
        "ESP:AES_GCM_16_128/CURVE_25519/EXT_SEQ/KE1_ML_KEM_768"
    unknown = Proposal(IKE, (Transform(T.ENCR, 99), Transform(T.KE, 4242)))
    assert str(unknown) == "IKE:(99)/(4242)"


def test_wire_order_puts_esn_last():
    p = parse_proposal(ESP, "aes128gcm16-x25519-ke1_mlkem768-esn")
    assert [t.type for t in p.wire_transforms()] == [T.ENCR, T.KE, T.ADDKE1, T.ESN]


# --- defaults ------------------------------------------------------------------------------------

def test_default_keyword_is_case_insensitive_and_positional():
    props = parse_proposals(ESP, ["aes128-sha256", "DEFAULT"])
    assert len(props) == 3
    assert str(props[1]).startswith("ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/ECP_256")
    assert [p.protocol for p in default_proposals(AH)] == [AH]


def test_custom_supported_algorithms_filter_ike_default():
    only = {(T.ENCR, 12), (T.INTEG, 12), (T.PRF, 5), (T.KE, 31)}
    p = create_default(IKE, lambda t, a: (t, a) in only)
    assert str(p) == "IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519"
    assert create_default(IKE, lambda t, a: False) is None


# --- selection -----------------------------------------------------------------------------------

def _p(proto, text, number=0):
    from dataclasses import replace
    return replace(parse_proposal(proto, text), number=number)


def test_select_prefers_configured_order():
    ours = [_p(IKE, "aes256-aes128-sha256-x25519-ecp256")]
    theirs = [_p(IKE, "aes128-aes256-sha256-ecp256-x25519", number=1)]
    sel = select_proposal(ours, theirs, prefer_ours=True)
    assert str(sel) == "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519"
    assert sel.number == 1  # the peer's proposal number is kept
    sel = select_proposal(ours, theirs, prefer_ours=False)
    assert str(sel) == "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"
    assert sel.number == 1


def test_select_key_size_must_match():
    assert select_proposal([_p(IKE, "aes128-sha256-x25519")], [_p(IKE, "aes256-sha256-x25519")]) is None


def test_select_aead_drops_integrity():
    ours = [_p(ESP, "aes128gcm16")]
    theirs = [Proposal(ESP, (Transform(T.ENCR, 20, 128), Transform(T.INTEG, 12), Transform(T.ESN, 0)))]
    assert str(select_proposal(ours, theirs)) == "ESP:AES_GCM_16_128/NO_EXT_SEQ"


def test_addke_rounds_all_or_nothing_and_optional():
    mandatory = _p(IKE, "aes256gcm16-prfsha384-x25519-ke1_mlkem768")
    optional = _p(IKE, "aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none")
    legacy = _p(IKE, "aes256gcm16-prfsha384-x25519")
    assert select_proposal([mandatory], [legacy]) is None
    assert select_proposal([legacy], [mandatory]) is None
    assert str(select_proposal([optional], [legacy])) == "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE_25519"
    assert str(select_proposal([legacy], [optional])) == "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE_25519"
    both = select_proposal([optional], [mandatory])
    assert str(both) == "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE_25519/KE1_ML_KEM_768"
    assert both.ke_methods == {T.KE: (31,), T.ADDKE1: (36,)}


def test_ke2_none_and_ke_method_used_once():
    ours = _p(IKE, "aes128-sha256-x25519-ke1_x25519-ke1_mlkem768-ke2_mlkem1024-ke2_none")
    theirs = _p(IKE, "aes128-sha256-x25519-ke1_x25519-ke1_mlkem768")
    sel = select_proposal([ours], [theirs])
    assert sel.ke_methods == {T.KE: (31,), T.ADDKE1: (36,)}  # x25519 not chosen twice; no round 2
    assert select_proposal([_p(IKE, "aes128-sha256-x25519-ke1_x25519")],
                           [_p(IKE, "aes128-sha256-x25519-ke1_x25519")]) is None


def test_esp_ke_none_means_no_pfs():
    pfs_optional = _p(ESP, "aes128gcm16-ecp256-none")
    no_pfs = _p(ESP, "aes128gcm16")
    assert str(select_proposal([pfs_optional], [no_pfs])) == "ESP:AES_GCM_16_128/NO_EXT_SEQ"
    assert select_proposal([_p(ESP, "aes128gcm16-ecp256")], [no_pfs]) is None
    assert str(select_proposal([pfs_optional], [_p(ESP, "aes128gcm16-ecp256")])) == \
        "ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ"
    # IKE_AUTH children ignore KE entirely
    assert str(select_proposal([_p(ESP, "aes128gcm16-ecp256")], [no_pfs], skip_ke=True)) == \
        "ESP:AES_GCM_16_128/NO_EXT_SEQ"


def test_private_algorithms_are_skipped_unless_allowed():
    ours, theirs = [_p(IKE, "serpent-sha256-x25519")], [_p(IKE, "serpent-sha256-x25519")]
    assert select_proposal(ours, theirs, strip_private=True) is None
    assert select_proposal(ours, theirs, strip_private=False) is not None


def test_protocol_mismatch_and_esn():
    assert select_proposal([_p(ESP, "aes128-sha256")], [_p(AH, "sha256")]) is None
    sel = select_proposal([_p(ESP, "aes128-sha256-esn-noesn")], [_p(ESP, "aes128-sha256-noesn")])
    assert str(sel) == "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ"


# --- properties ----------------------------------------------------------------------------------

_KE_WORDS = sorted(k for k, v in KEYWORDS.items() if v[0] == T.KE and v[1] not in (0, 1024))
_ENC = ["aes128", "aes256", "aes128ctr", "3des", "camellia256"]
_AEAD = ["aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes256ccm12"]
_INT = ["sha1", "sha256", "sha384", "sha512", "aesxcbc"]

ike_strings = st.one_of(
    st.tuples(st.lists(st.sampled_from(_ENC), min_size=1, max_size=3),
              st.lists(st.sampled_from(_INT), min_size=1, max_size=3),
              st.lists(st.sampled_from(_KE_WORDS), min_size=1, max_size=3)),
    st.tuples(st.lists(st.sampled_from(_AEAD), min_size=1, max_size=3),
              st.lists(st.sampled_from(["prfsha256", "prfsha384"]), min_size=1, max_size=2),
              st.lists(st.sampled_from(_KE_WORDS), min_size=1, max_size=3)),
).map(lambda parts: "-".join(w for part in parts for w in part))


@given(ike_strings)
def test_a_proposal_selects_itself(text):
    p = parse_proposal(IKE, text)
    sel = p.select(p)
    assert sel is not None
    assert all(sel.algorithms(t) == p.algorithms(t)[:1] for t in (T.ENCR, T.PRF))
    assert sel.algorithms(T.KE) == p.algorithms(T.KE)[:1]


@given(ike_strings, ike_strings)
def test_selection_is_symmetric_in_success(a, b):
    pa, pb = parse_proposal(IKE, a), parse_proposal(IKE, b)
    assert (pa.select(pb) is None) == (pb.select(pa) is None)
    sel = pa.select(pb)
    if sel is not None:
        for t in sel.transforms:
            assert t in pa.transforms and t in pb.transforms


@given(st.text(alphabet="abcdefgkmnoprsx0123456789_- '", max_size=40))
def test_parser_never_crashes(text):
    for proto in (IKE, ESP, AH):
        try:
            p = parse_proposal(proto, text)
        except ProposalError:
            continue
        assert str(p).startswith(proto.name + ":")
