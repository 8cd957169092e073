"""Voter ids -> keyed hashes: one vote per person is countable, who voted is not kept.

A plain SHA-256 of a Discord id could be reversed by hashing every plausible id; an HMAC with
a random key kept in the same database cannot be, without that key. The key is made once,
when a database is first opened, and stays with the data: a new key would split every voter
of the open rounds in two.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32  # RFC 2104: at least the hash's output length (32 bytes for SHA-256)


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def voter_hash(key: str, voter_id: int) -> str:
    """64 hex characters; the same id and key always give the same hash."""
    return hmac.new(bytes.fromhex(key), str(int(voter_id)).encode(), hashlib.sha256).hexdigest()
