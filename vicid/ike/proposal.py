"""IKE/ESP/AH proposals as charon 6 parses, normalises, prints and selects them.

Mirrors ``proposal.c`` (``proposal_create_from_string``, ``check_proposal``, ``select_algos``,
``proposal_select``, the ``%P`` printf hook and the default proposals), the ``keN_`` token parser of
``key_exchange.c`` and vici's ``default`` keyword. Pure: no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from vicid.ike.proposal_keywords import lookup_keyword
from vicid.ike.wire.enums import (
    ADDKE_TYPES,
    AEAD_ALGS,
    EncrAlg,
    Esn,
    IntegAlg,
    KeMethod,
    PrfAlg,
    ProtocolId,
    TransformType,
    encr_name,
)

T = TransformType

# vici copies values into a 2048-byte buffer with snprintf: longer strings are cut, not rejected
MAX_PROPOSAL_LEN = 2048
# algorithm IDs from here on are private use (only negotiated with known peers)
PRIVATE_USE = 1024

KE_TYPES: tuple[TransformType, ...] = (T.KE, *ADDKE_TYPES)

# charon sorts types for printing/selection with PRF and INTEG swapped (``type_for_sort``)
_SORT_KEY = {T.INTEG: 2, T.PRF: 3}

# order of transform types in an SA payload (``set_from_proposal_v2``)
WIRE_ORDER: tuple[TransformType, ...] = (T.ENCR, T.INTEG, T.PRF, T.KE, *ADDKE_TYPES, T.ESN)

# integrity algorithm -> PRF implied for IKE proposals without explicit PRF (``integ_prf_map``)
INTEG_PRF_MAP: dict[int, int] = {
    IntegAlg.HMAC_SHA1_96: PrfAlg.PRF_HMAC_SHA1,
    IntegAlg.HMAC_SHA1_160: PrfAlg.PRF_HMAC_SHA1,
    IntegAlg.HMAC_SHA2_256_128: PrfAlg.PRF_HMAC_SHA2_256,
    IntegAlg.HMAC_SHA2_384_192: PrfAlg.PRF_HMAC_SHA2_384,
    IntegAlg.HMAC_SHA2_512_256: PrfAlg.PRF_HMAC_SHA2_512,
    IntegAlg.HMAC_MD5_96: PrfAlg.PRF_HMAC_MD5,
    IntegAlg.HMAC_MD5_128: PrfAlg.PRF_HMAC_MD5,
    IntegAlg.AES_XCBC_96: PrfAlg.PRF_AES128_XCBC,
    IntegAlg.CAMELLIA_XCBC_96: PrfAlg.PRF_CAMELLIA128_XCBC,
    IntegAlg.AES_CMAC_96: PrfAlg.PRF_AES128_CMAC,
}

_GMAC_INTEG = {128: IntegAlg.AES_128_GMAC, 192: IntegAlg.AES_192_GMAC, 256: IntegAlg.AES_256_GMAC}

_NAMES: dict[TransformType, type[IntEnum]] = {
    T.PRF: PrfAlg, T.INTEG: IntegAlg, T.ESN: Esn, **{t: KeMethod for t in KE_TYPES},
}


class _computed_once:  # a decorator, named like functools.cached_property
    """``cached_property`` without its lock (3.11 takes an RLock on each first read): the value
    is computed from frozen fields, so a race can only compute it twice, never differently."""

    def __init__(self, func: Callable) -> None:
        self.func, self.name = func, func.__name__

    def __get__(self, obj: object, owner: type | None = None) -> object:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


# per-type views by the identities of a proposal's transforms (see Proposal._by_type)
_BY_TYPE: dict[tuple[int, ...], tuple[tuple[Transform, ...], dict[int, tuple[Transform, ...]]]] = {}
_BY_TYPE_MAX = 4096


class ProposalError(ValueError):
    """A proposal string charon rejects; the message is what charon logs."""


def type_sort_key(ttype: int) -> int:
    return _SORT_KEY.get(ttype, ttype)


def is_ke_type(ttype: int) -> bool:
    return ttype in KE_TYPES


def alg_name(ttype: int, alg: int) -> str:
    """charon's ``%N`` name of an algorithm, ``(<id>)`` when the ID has no name."""
    if ttype == T.ENCR:
        name = encr_name(alg)
        return name if name != str(alg) else f"({alg})"
    names = _NAMES.get(ttype)
    if names is None:
        return f"UNKNOWN_{ttype}_{alg}"
    try:
        return names(alg).name
    except ValueError:
        return f"({alg})"


@dataclass(frozen=True, order=True)
class Transform:
    type: TransformType
    id: int
    key_length: int = 0

    def __str__(self) -> str:
        prefix = f"KE{self.type - T.ADDKE1 + 1}_" if self.type in ADDKE_TYPES else ""
        suffix = f"_{self.key_length}" if self.key_length else ""
        return f"{prefix}{alg_name(self.type, self.id)}{suffix}"


@dataclass(frozen=True)
class Proposal:
    """One proposal: transforms in charon's insertion order (preference order per type)."""

    protocol: ProtocolId
    transforms: tuple[Transform, ...]
    number: int = 0  # proposal number on the wire (1..n), 0 if not from/for a message
    spi: bytes = field(default=b"", compare=False)

    # --- queries -------------------------------------------------------------------------------
    @_computed_once
    def _by_type(self) -> dict[int, tuple[Transform, ...]]:
        """Transforms per type in preference order, built once: selection, key derivation and
        the SA payload ask for them dozens of times per handshake. Read only, so proposals
        made of the same Transform objects (every SA's selection from one config) share it."""
        key = tuple(map(id, self.transforms))
        entry = _BY_TYPE.get(key)
        if entry is not None:
            return entry[1]
        index: dict[int, list[Transform]] = {}
        for t in self.transforms:
            index.setdefault(t.type, []).append(t)
        views = {ttype: tuple(found) for ttype, found in index.items()}
        if len(_BY_TYPE) >= _BY_TYPE_MAX:
            _BY_TYPE.clear()
        _BY_TYPE[key] = (self.transforms, views)  # holding the transforms keeps their ids unique
        return views

    @_computed_once
    def _types(self) -> tuple[TransformType, ...]:
        return tuple(sorted(self._by_type, key=type_sort_key))  # type: ignore[arg-type]

    def types(self) -> tuple[TransformType, ...]:
        """Transform types present, in charon's sort order (ENCR, INTEG, PRF, KE, ESN, ADDKE1..7)."""
        return self._types

    def algorithms(self, ttype: TransformType) -> tuple[Transform, ...]:
        return self._by_type.get(ttype, ())

    def get_algorithm(self, ttype: TransformType) -> Transform | None:
        """The first (most preferred) transform of a type, as charon's ``get_algorithm``."""
        found = self._by_type.get(ttype)
        return found[0] if found else None

    def has_transform(self, ttype: TransformType, alg: int) -> bool:
        """charon's ``has_transform``: ``alg`` 0 asks "no real algorithm of this type"."""
        real = [t.id for t in self.algorithms(ttype) if t.id]
        return alg in real if alg else not real

    @property
    def ke_methods(self) -> dict[TransformType, tuple[int, ...]]:
        """KE method IDs per round (KE, ADDKE1..7) present in this proposal; 0 is ``none``."""
        return {t: ids for t in KE_TYPES if (ids := tuple(x.id for x in self.algorithms(t)))}

    @property
    def is_aead(self) -> bool:
        encr = self.get_algorithm(T.ENCR)
        return encr is not None and encr.id in AEAD_ALGS

    def has_additional_ke(self) -> bool:
        return any(t.type in ADDKE_TYPES for t in self.transforms)

    def wire_transforms(self) -> tuple[Transform, ...]:
        """Transforms in SA-payload order: grouped by type as ``set_from_proposal_v2`` emits them."""
        return self._wire_order

    @_computed_once
    def _wire_order(self) -> tuple[Transform, ...]:
        by_type = self._by_type
        return tuple(t for ttype in WIRE_ORDER if ttype in by_type for t in by_type[ttype])

    def same_algorithms(self, other: Proposal) -> bool:
        """charon's ``equals``: same algorithm lists per type (protocol/number/SPI ignored)."""
        types = set(self.types()) | set(other.types())
        return all(self.algorithms(t) == other.algorithms(t) for t in types)

    # --- derived proposals ---------------------------------------------------------------------
    def clone(self, *, skip_private: bool = False, skip_ke: bool = False) -> Proposal:
        """charon's ``clone`` with PROPOSAL_SKIP_PRIVATE / PROPOSAL_SKIP_KE."""
        kept = tuple(
            t for t in self.transforms
            if not (skip_private and t.id >= PRIVATE_USE) and not (skip_ke and is_ke_type(t.type))
        )
        if len(kept) == len(self.transforms):
            return self.with_spi(self.spi)
        return Proposal(self.protocol, kept, self.number, self.spi)

    def with_spi(self, spi: bytes) -> Proposal:
        """A copy with another SPI (``set_spi`` on a clone); the per-type index comes along."""
        return self._views_to(Proposal(self.protocol, self.transforms, self.number, spi))

    def _views_to(self, copy: Proposal) -> Proposal:
        """Hand the per-type views computed so far to COPY (same transforms per type)."""
        for name in ("_by_type", "_types", "_wire_order"):
            if name in self.__dict__:
                copy.__dict__[name] = self.__dict__[name]
        return copy

    def promote_transform(self, ttype: TransformType, alg: int) -> Proposal | None:
        """Move ``alg`` to the front (used after INVALID_KE_PAYLOAD); None if absent."""
        if not any(t.type == ttype and t.id == alg for t in self.transforms):
            return None
        rest = tuple(t for t in self.transforms if not (t.type == ttype and t.id == alg))
        promoted = Proposal(self.protocol, (Transform(ttype, alg), *rest), self.number, self.spi)
        found = self._by_type[ttype]
        if found == (Transform(ttype, alg), *(t for t in found if t.id != alg)):
            # already first of its type (the usual case): the per-type views stay the same
            return self._views_to(promoted)
        return promoted

    # --- selection -----------------------------------------------------------------------------
    def select(
        self, other: Proposal, *, prefer_supplied: bool = False, skip_private: bool = False,
        skip_ke: bool = False,
    ) -> Proposal | None:
        """charon's ``select``: ``self`` is the preferred side; None if the proposals don't match.

        The result carries ``other``'s number and SPI, or ours with ``prefer_supplied`` (then
        ``self`` is the received proposal), exactly as charon does.
        """
        if self.protocol != other.protocol:
            return None
        chosen = _select_algos(self, other, skip_private=skip_private, skip_ke=skip_ke)
        if chosen is None:
            return None
        src = self if prefer_supplied else other
        return Proposal(self.protocol, chosen, src.number, src.spi)

    def matches(self, other: Proposal, *, skip_private: bool = False, skip_ke: bool = False) -> bool:
        return self.protocol == other.protocol and _select_algos(
            self, other, skip_private=skip_private, skip_ke=skip_ke) is not None

    def __str__(self) -> str:
        """charon's ``%P``: ``IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256``."""
        algs = [str(t) for ttype in self.types() for t in self.algorithms(ttype)]
        return f"{self.protocol.name}:{'/'.join(algs)}"


def proposals_str(proposals: Iterable[Proposal]) -> str:
    """charon's ``%#P`` for a list: proposals separated by ``, ``."""
    return ", ".join(str(p) for p in proposals)


# --- selection --------------------------------------------------------------------------------

def _select_algo(
    this: Proposal, other: Proposal, ttype: TransformType, used_kes: set[int], skip_private: bool,
) -> Transform | bool:
    """One transform type: the chosen Transform, True for "OK, nothing chosen", False for no match."""
    ke = ttype in KE_TYPES
    optional = ke and (this.protocol in (ProtocolId.ESP, ProtocolId.AH) or ttype != T.KE)
    mine, theirs = this._by_type.get(ttype, ()), other._by_type.get(ttype, ())
    if not mine and not theirs:
        return True
    if not mine or not theirs:
        # a type only one side has is fine if optional there and that side offers NONE
        present = mine or theirs
        return optional and any(t.id == 0 for t in present)
    for ours in mine:
        if ke and ours.id in used_kes:
            continue  # a KE method is used at most once per SA
        for peer in theirs:
            if ours.id == peer.id and ours.key_length == peer.key_length:
                if skip_private and ours.id >= PRIVATE_USE:
                    continue
                return ours  # the configured (immutable) transform: shared by every SA that selects it
    return False


def _select_algos(
    this: Proposal, other: Proposal, *, skip_private: bool, skip_ke: bool,
) -> tuple[Transform, ...] | None:
    chosen: list[Transform] = []
    used_kes: set[int] = set()
    skip_integ = False
    mine, theirs = this.types(), other.types()
    for ttype in mine if mine == theirs else sorted(set(mine) | set(theirs), key=type_sort_key):
        ke = ttype in KE_TYPES
        if (ttype == T.INTEG and skip_integ) or (skip_ke and ke):
            continue
        result = _select_algo(this, other, ttype, used_kes, skip_private)
        if result is False:
            return None
        if not isinstance(result, Transform):
            continue
        if result.id == 0 and ttype != T.ESN:
            continue  # NONE (or reserved) is left out; ESN 0 means "no ESN" and is kept
        chosen.append(result)
        if ke:
            used_kes.add(result.id)
        if ttype == T.ENCR and result.id in AEAD_ALGS:
            skip_integ = True  # AEAD: no integrity algorithm is negotiated
    return tuple(chosen)


def select_proposal(
    ours: Iterable[Proposal], theirs: Iterable[Proposal], *, prefer_ours: bool = True,
    strip_private: bool = True, skip_ke: bool = False,
) -> Proposal | None:
    """charon's ``proposal_select``: first matching pair, walking the preferred list outermost.

    ``prefer_ours`` is ``charon.prefer_configured_proposals``; ``strip_private`` is
    PROPOSAL_SKIP_PRIVATE (charon sets it unless the peer sent the strongSwan vendor ID or
    ``accept_private_algs`` is on); ``skip_ke`` is PROPOSAL_SKIP_KE (CHILD_SA in IKE_AUTH).
    """
    ours, theirs = list(ours), list(theirs)
    prefer, match = (ours, theirs) if prefer_ours else (theirs, ours)
    for proposal in prefer:
        for candidate in match:
            selected = proposal.select(
                candidate, prefer_supplied=not prefer_ours, skip_private=strip_private,
                skip_ke=skip_ke)
            if selected is not None:
                return selected
    return None


# --- parsing ----------------------------------------------------------------------------------

def _token_enumerator(text: str, sep: str = "-", trim: str = " ") -> Iterator[str]:
    """strongSwan's ``enumerator_create_token``: empty fields vanish, '…'/"…" quote a token."""
    pos, end = 0, len(text)
    while True:
        while pos < end and (text[pos] in trim or text[pos] in sep):
            pos += 1
        if pos >= end:
            return
        quote = text[pos]
        if quote in "\"'":
            close = text.find(quote, pos + 1)
            if close >= 0:
                yield text[pos + 1:close]
                pos = close + 1
                continue
        nxt = min((i for i in (text.find(s, pos) for s in sep) if i >= 0), default=-1)
        token = text[pos:nxt] if nxt >= 0 else text[pos:]
        pos = nxt + 1 if nxt >= 0 else end
        yield token.rstrip(trim)


_C_SPACE = " \t\n\v\f\r"


def _scan_word(text: str, pos: int, width: int) -> tuple[str, int]:
    """sscanf ``%<width>s``: skip whitespace, read up to ``width`` non-space chars."""
    while pos < len(text) and text[pos] in _C_SPACE:
        pos += 1
    start = pos
    while pos < len(text) and pos - start < width and text[pos] not in _C_SPACE:
        pos += 1
    return text[start:pos], pos


def _parse_ke_token(token: str) -> tuple[TransformType, int, int] | None:
    """``keN_<method>`` as ``additional_key_exchange_parser`` (``sscanf("%2s%1u_%255s")``)."""
    prefix, pos = _scan_word(token, 0, 2)
    digit, pos = _scan_word(token, pos, 1)
    if not prefix or not digit.isdigit() or token[pos:pos + 1] != "_":
        return None
    alg, _ = _scan_word(token, pos + 1, 255)
    if not alg or prefix.lower() != "ke" or not 1 <= int(digit) <= 7:
        return None
    base = lookup_keyword(alg)
    if base is None or base[0] != T.KE:
        return None
    return TransformType(T.ADDKE1 + int(digit) - 1), base[1], base[2]


def lookup_token(token: str) -> tuple[TransformType, int, int] | None:
    """charon's ``get_token``: static keywords, then plugin-registered ones, then ``keN_``."""
    return lookup_keyword(token) or _parse_ke_token(token)


def _check_ike(entries: list[Transform]) -> list[Transform]:
    if not any(t.type == T.PRF for t in entries):
        # derive one PRF per integrity algorithm, in integrity order
        entries += [Transform(T.PRF, INTEG_PRF_MAP[t.id]) for t in entries
                    if t.type == T.INTEG and t.id in INTEG_PRF_MAP]
    if not any(t.type == T.PRF for t in entries):
        raise ProposalError("a PRF algorithm is mandatory in IKE proposals")
    entries = [t for t in entries if not (t.type == T.KE and t.id == 0)]
    if not any(t.type == T.KE for t in entries):
        raise ProposalError("a DH group is mandatory in IKE proposals")
    return entries


def _check_encryption(protocol: ProtocolId, entries: list[Transform]) -> list[Transform]:
    encr = [t for t in entries if t.type == T.ENCR]
    if not encr:
        raise ProposalError(f"an encryption algorithm is mandatory in {protocol.name} proposals")
    aead = [t.id in AEAD_ALGS for t in encr]
    if any(aead) and not all(aead):
        raise ProposalError("classic and combined-mode (AEAD) encryption algorithms can't be "
                            f"contained in the same {protocol.name} proposal")
    if all(aead):
        return [t for t in entries if t.type != T.INTEG]
    if protocol == ProtocolId.IKE and not any(t.type == T.INTEG for t in entries):
        raise ProposalError(f"an integrity algorithm is mandatory in {protocol.name} proposals "
                            "with classic (non-AEAD) encryption algorithms")
    return entries


def _check_ah(entries: list[Transform]) -> list[Transform]:
    out = []
    for t in entries:
        if t.type != T.ENCR:
            out.append(t)
        elif t.id == EncrAlg.NULL_AES_GMAC and t.key_length in _GMAC_INTEG:
            # AES-GMAC parses as encryption; in AH it is the integrity algorithm, kept in place
            out.append(Transform(T.INTEG, _GMAC_INTEG[t.key_length]))
    if not any(t.type == T.INTEG for t in out):
        raise ProposalError("an integrity algorithm is mandatory in AH proposals")
    return out


def check_proposal(protocol: ProtocolId, transforms: Iterable[Transform]) -> tuple[Transform, ...]:
    """charon's ``check_proposal``: per-protocol normalisation; raises ProposalError.

    Duplicates are kept (charon 6.1 prints ``AES_CBC_128/AES_CBC_128`` for ``aes128-aes128``).
    """
    entries = list(transforms)
    if protocol == ProtocolId.IKE:
        entries = _check_ike(entries)
    else:
        entries = [t for t in entries if t.type != T.PRF]
    if protocol in (ProtocolId.IKE, ProtocolId.ESP):
        entries = _check_encryption(protocol, entries)
    else:
        entries = _check_ah(entries)
    if protocol in (ProtocolId.AH, ProtocolId.ESP) and not any(t.type == T.ESN for t in entries):
        entries.append(Transform(T.ESN, Esn.NO_EXT_SEQ))
    return tuple(entries)


def parse_proposal(protocol: ProtocolId, text: str) -> Proposal:
    """``proposal_create_from_string``: one dash-separated proposal; raises ProposalError.

    Proposals are immutable, so every connection that spells a proposal the same way shares one
    object, and with it the per-type views built on first use (thousands of loaded connections
    with one proposal would otherwise each build their own during their first handshake)."""
    return _parse_proposal(protocol, text)


@functools.lru_cache(maxsize=1024)
def _parse_proposal(protocol: ProtocolId, text: str) -> Proposal:
    entries: list[Transform] = []
    for token in _token_enumerator(text):
        found = lookup_token(token)
        if found is None:
            raise ProposalError(f"algorithm '{token}' not recognized")
        entries.append(Transform(*found))
    if not entries:
        raise ProposalError("empty proposal")
    return Proposal(protocol, check_proposal(protocol, entries))


def _vici_string(value: str | bytes) -> str:
    """``vici_stringify``: printable ASCII only, cut to the 2 KiB buffer."""
    raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
    if not all(0x20 <= b < 0x7F for b in raw):
        raise ProposalError("proposal contains non-printable characters")
    return raw[:MAX_PROPOSAL_LEN - 1].decode("ascii")


def parse_proposals(protocol: ProtocolId, items: Iterable[str | bytes],
                    supported: Supported | None = None) -> list[Proposal]:
    """A vici proposals list (``proposals``/``esp_proposals``/``ah_proposals``) -> proposals.

    ``default`` (any case) inserts charon's default proposals at its position. A bad item raises
    ProposalError; the caller answers ``invalid value for: <key>, config discarded``.
    """
    out: list[Proposal] = []
    for item in items:
        try:
            text = _vici_string(item)
        except UnicodeEncodeError:
            raise ProposalError("proposal contains non-printable characters") from None
        if text.lower() == "default":
            out += default_proposals(protocol, supported)
        else:
            out.append(parse_proposal(protocol, text))
    return out


# --- defaults ---------------------------------------------------------------------------------

# What the daemon can do: ``supported(type, alg)``. None means "what charon 6.1 with the openssl
# plugin offers", the lab reference (no XCBC/CMAC, no Camellia CCM).
Supported = Callable[[TransformType, int], bool]

_A, _I, _P, _K = EncrAlg, IntegAlg, PrfAlg, KeMethod
_CHARON_OPENSSL: frozenset[tuple[int, int]] = frozenset(
    {(T.ENCR, a) for a in (_A.AES_CBC, _A.AES_CTR, _A.CAMELLIA_CBC, _A.CAMELLIA_CTR, _A._3DES_CBC,
                           _A.AES_GCM_16, _A.AES_GCM_12, _A.AES_GCM_8, _A.AES_CCM_16,
                           _A.AES_CCM_12, _A.AES_CCM_8, _A.CHACHA20_POLY1305)}
    | {(T.INTEG, a) for a in (_I.HMAC_SHA2_256_128, _I.HMAC_SHA2_384_192, _I.HMAC_SHA2_512_256,
                              _I.HMAC_SHA1_96)}
    | {(T.PRF, a) for a in (_P.PRF_HMAC_SHA2_256, _P.PRF_HMAC_SHA2_384, _P.PRF_HMAC_SHA2_512,
                            _P.PRF_HMAC_SHA1)}
    | {(T.KE, int(a)) for a in _K}
)


def _charon_openssl(ttype: TransformType, alg: int) -> bool:
    return (ttype, alg) in _CHARON_OPENSSL


# rounds of ``add_supported_*`` (each round in registration order; we use a fixed canonical order)
_KE_ROUNDS = (
    (_K.ECP_256, _K.ECP_384, _K.ECP_521, _K.ECP_256_BP, _K.ECP_384_BP, _K.ECP_512_BP,
     _K.CURVE_25519, _K.CURVE_448),
    (_K.MODP_3072, _K.MODP_4096, _K.MODP_6144, _K.MODP_8192),
    (_K.MODP_2048,),
)
_ENCR_ROUNDS = ((_A.AES_CBC, _A.AES_CTR, _A.CAMELLIA_CBC, _A.CAMELLIA_CTR), (_A._3DES_CBC,))
_AEAD_ROUNDS = (
    (_A.AES_GCM_16, _A.AES_CCM_16, _A.CAMELLIA_CCM_16, _A.CHACHA20_POLY1305),
    (_A.AES_GCM_12, _A.AES_GCM_8, _A.AES_CCM_12, _A.AES_CCM_8, _A.CAMELLIA_CCM_12, _A.CAMELLIA_CCM_8),
)
_INTEG_ROUNDS = ((_I.HMAC_SHA2_256_128, _I.HMAC_SHA2_384_192, _I.HMAC_SHA2_512_256),
                 (_I.AES_XCBC_96, _I.AES_CMAC_96, _I.HMAC_SHA1_96))
_PRF_ROUNDS = ((_P.PRF_HMAC_SHA2_256, _P.PRF_HMAC_SHA2_384, _P.PRF_HMAC_SHA2_512),
               (_P.PRF_AES128_XCBC, _P.PRF_AES128_CMAC), (_P.PRF_HMAC_SHA1,))
_SIZED = {_A.AES_CBC, _A.AES_CTR, _A.CAMELLIA_CBC, _A.CAMELLIA_CTR} | (AEAD_ALGS - {
    _A.CHACHA20_POLY1305, _A.NULL_AES_GMAC})
_ESP_INTEG = (_I.HMAC_SHA2_256_128, _I.HMAC_SHA2_384_192, _I.HMAC_SHA2_512_256, _I.HMAC_SHA1_96,
              _I.AES_XCBC_96)


def _rounds(ttype: TransformType, rounds: Iterable[Iterable[int]], ok: Supported) -> list[Transform]:
    out = []
    for alg in (a for rnd in rounds for a in rnd if ok(ttype, a)):
        sizes = (128, 192, 256) if ttype == T.ENCR and alg in _SIZED else (0,)
        out += [Transform(ttype, alg, ks) for ks in sizes]
    return out


def _ke_list(ok: Supported) -> list[Transform]:
    return _rounds(T.KE, _KE_ROUNDS, ok)


def create_default(protocol: ProtocolId, supported: Supported | None = None) -> Proposal | None:
    """``proposal_create_default``: the classic (non-AEAD) default proposal."""
    ok = supported or _charon_openssl
    if protocol == ProtocolId.IKE:
        encr = _rounds(T.ENCR, _ENCR_ROUNDS, ok)
        if not encr:
            return None
        tfs = (encr + _rounds(T.INTEG, _INTEG_ROUNDS, ok) + _rounds(T.PRF, _PRF_ROUNDS, ok)
               + _ke_list(ok))
    elif protocol == ProtocolId.ESP:
        tfs = [Transform(T.ENCR, _A.AES_CBC, ks) for ks in (128, 192, 256)]
        tfs += [Transform(T.INTEG, a) for a in _ESP_INTEG]
        tfs += [Transform(T.ESN, Esn.NO_EXT_SEQ), *_ke_list(ok), Transform(T.KE, 0)]
    elif protocol == ProtocolId.AH:
        tfs = [Transform(T.INTEG, a) for a in _ESP_INTEG]
        tfs += [Transform(T.ESN, Esn.NO_EXT_SEQ), *_ke_list(ok), Transform(T.KE, 0)]
    else:
        return None
    return Proposal(protocol, tuple(tfs))


def create_default_aead(protocol: ProtocolId, supported: Supported | None = None) -> Proposal | None:
    """``proposal_create_default_aead``: the AEAD default (none for AH)."""
    ok = supported or _charon_openssl
    if protocol == ProtocolId.IKE:
        encr = _rounds(T.ENCR, _AEAD_ROUNDS, ok)
        if not encr:
            return None
        tfs = encr + _rounds(T.PRF, _PRF_ROUNDS, ok) + _ke_list(ok)
    elif protocol == ProtocolId.ESP:
        tfs = [Transform(T.ENCR, _A.AES_GCM_16, ks) for ks in (128, 192, 256)]
        tfs += [Transform(T.ESN, Esn.NO_EXT_SEQ), *_ke_list(ok), Transform(T.KE, 0)]
    else:
        return None
    return Proposal(protocol, tuple(tfs))


def default_proposals(protocol: ProtocolId, supported: Supported | None = None) -> list[Proposal]:
    """vici's ``add_default_proposals``: classic then AEAD for IKE, AEAD then classic for ESP/AH."""
    if protocol == ProtocolId.IKE:
        pair = (create_default(protocol, supported), create_default_aead(protocol, supported))
    else:
        pair = (create_default_aead(protocol, supported), create_default(protocol, supported))
    return [p for p in pair if p is not None]
