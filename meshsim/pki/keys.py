"""Private keys of the algorithms a mesh may use, and their signing hash."""

from __future__ import annotations

from typing import Literal, get_args

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = [
    "KEY_ALGORITHMS",
    "KeyAlgorithm",
    "PrivateKey",
    "generate_key",
    "signature_hash",
]

KeyAlgorithm = Literal["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072"]
KEY_ALGORITHMS: tuple[str, ...] = get_args(KeyAlgorithm)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_RSA_PUBLIC_EXPONENT = 65537


def generate_key(algorithm: str) -> PrivateKey:
    """A fresh private key; its randomness comes from the OS, not the seed."""
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(_RSA_PUBLIC_EXPONENT, 2048)
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(_RSA_PUBLIC_EXPONENT, 3072)
    raise ValueError(
        f"key: {algorithm!r} is not one of {', '.join(KEY_ALGORITHMS)}"
    )


def signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """SHA-384 for P-384 keys, SHA-256 for the others."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()
