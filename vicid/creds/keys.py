"""What charon calls a key's type and strength (``key_type_t``, ``get_keysize``), for keys of
the ``cryptography`` package: used by the credential store's listings and by signature
scheme selection in IKE_AUTH."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

try:  # FIPS 204 keys, cryptography >= 47
    from cryptography.hazmat.primitives.asymmetric import mldsa
except ImportError:  # pragma: no cover - older cryptography
    mldsa = None  # type: ignore[assignment]


def key_type(key: object) -> str:
    """charon's ``key_type_t`` name for a cryptography public or private key."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ED25519"
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return "ED448"
    if mldsa is not None:
        for bits, name in ((44, "ML_DSA_44"), (65, "ML_DSA_65"), (87, "ML_DSA_87")):
            pub = getattr(mldsa, f"MLDSA{bits}PublicKey", None)
            priv = getattr(mldsa, f"MLDSA{bits}PrivateKey", None)
            if (pub and isinstance(key, pub)) or (priv and isinstance(key, priv)):
                return name
    return "ANY"


def key_size(key: object) -> int:
    """Key strength in bits as charon reports it (RSA modulus, EC curve; EdDSA nominal)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return key.curve.key_size
    return {"ED25519": 256, "ED448": 456}.get(key_type(key), 0)
