"""Candid, the interface description language of the IC: types, binary codec, text form.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md).

The Python representation of values is documented in `replica_core.candid.types`.
"""

from __future__ import annotations

from replica_core.candid.decode import decode, decode_with_types
from replica_core.candid.encode import encode, encode_type_table
from replica_core.candid.subtype import is_subtype
from replica_core.candid.text import args_to_text, type_to_text, value_to_text
from replica_core.candid.types import (
    BOOL,
    EMPTY,
    FLOAT32,
    FLOAT64,
    INT,
    INT8,
    INT16,
    INT32,
    INT64,
    NAT,
    NAT8,
    NAT16,
    NAT32,
    NAT64,
    NULL,
    PRIMITIVES,
    PRINCIPAL,
    RESERVED,
    TEXT,
    CandidType,
    Field,
    Func,
    Opt,
    Prim,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    field_hash,
    field_id,
)

__all__ = [
    "BOOL",
    "EMPTY",
    "FLOAT32",
    "FLOAT64",
    "INT",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "NAT",
    "NAT8",
    "NAT16",
    "NAT32",
    "NAT64",
    "NULL",
    "PRIMITIVES",
    "PRINCIPAL",
    "RESERVED",
    "TEXT",
    "CandidType",
    "Field",
    "Func",
    "Opt",
    "Prim",
    "Rec",
    "Record",
    "Service",
    "Variant",
    "Vec",
    "args_to_text",
    "decode",
    "decode_with_types",
    "encode",
    "encode_type_table",
    "field_hash",
    "field_id",
    "is_subtype",
    "type_to_text",
    "value_to_text",
]
