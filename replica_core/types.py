"""The shared vocabulary of icbox: names for the raw values the spec talks about.

Spec: IC interface spec 0.66.0, Overview (principals, request ids, time, cycles).

This module imports nothing else from the project, so every module can import it
without creating a cycle (the role `starlette/types.py` plays for starlette).
"""

from typing import NewType

__all__ = ["Blob", "CanisterId", "Cycles", "Hash", "Label", "RequestId", "Timestamp"]

Blob = bytes
"""An uninterpreted byte string (the spec's `blob`)."""

RequestId = NewType("RequestId", bytes)
"""The 32-byte representation-independent hash of a request's content."""

Hash = NewType("Hash", bytes)
"""A 32-byte SHA-256 digest."""

Label = NewType("Label", bytes)
"""A hash-tree edge label (a blob; text labels are their UTF-8 bytes)."""

Timestamp = NewType("Timestamp", int)
"""Nanoseconds since 1970-01-01 (the spec's `ingress_expiry`, `/time`)."""

Cycles = NewType("Cycles", int)
"""An amount of cycles (a 128-bit natural number)."""

CanisterId = NewType("CanisterId", bytes)
"""The raw bytes of a canister's principal (10 bytes for ids minted by a subnet)."""
