"""The engine parsers this package builds on, behind one seam.

Identities (``vicid.identity``) and traffic selectors (``vicid.ike.ts``) are parsed and printed
by the engine's own modules; vici configuration code calls them only through these functions, so
an API change there is one edit here.
"""

from __future__ import annotations

from typing import Any


def identity_from_string(text: str) -> Any:
    """``identification_create_from_string`` (never fails)."""
    from vicid.identity import Identification

    return Identification.from_string(text)


def identity_from_string_with_regex(text: str) -> Any | None:
    """``identification_create_from_string_with_regex``; None when charon returns NULL."""
    from vicid.identity import Identification

    try:
        return Identification.from_string_with_regex(text)
    except ValueError:
        return None


def identity_is_any(ident: Any) -> bool:
    from vicid.identity import IdKind

    return ident is None or ident.type == IdKind.ID_ANY


def identity_from_dn_der(der: bytes) -> Any:
    """A DN identity from its DER encoding (a certificate's subject)."""
    from vicid.identity import Identification, IdKind

    return Identification(IdKind.ID_DER_ASN1_DN, der)


def identity_text(ident: Any) -> str:
    """charon's ``%Y``."""
    return str(ident)


def ts_parse(text: str, netdb: Any = None) -> Any | None:
    """vici's ``parse_ts`` on one list item; None if invalid."""
    from vicid.ike.ts import parse_ts

    try:
        return parse_ts(text, netdb)
    except ValueError:
        return None


def ts_dynamic() -> Any:
    """``traffic_selector_create_dynamic(0, 0, 65535)``."""
    from vicid.ike.ts import TrafficSelector

    return TrafficSelector.create_dynamic()


def ts_text(ts: Any, netdb: Any = None) -> str:
    """charon's ``%R``."""
    return ts.render(netdb)


def ts_remove_duplicates(selectors: Any) -> list[Any]:
    """``remove_duplicate_ts``, as ``get_traffic_selectors`` applies it for listings."""
    from vicid.ike.ts import remove_duplicate_ts

    return remove_duplicate_ts(selectors)
