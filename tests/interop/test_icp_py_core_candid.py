"""Candid and principals: icbox agrees with the Python client icp-py-core 2.3.1.

Spec: IC interface spec 0.66.0, Candid (Binary format); Overview › Principals.

icp-py-core is an independent implementation (`icp_candid`, `icp_principal`); the same
spread of cases as the agent-js test (conftest.CANDID_CASES) goes through it both ways.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from icp_candid import Types
from icp_candid import decode as icp_decode
from icp_candid import encode as icp_encode
from icp_principal import Principal as IcpPrincipal

from replica_core import candid
from replica_core.principal import Principal


class IcpCandid:
    """Build icp_candid types and values from the shared JSON descriptions, render back."""

    def __init__(self, cj: Any) -> None:
        self.cj = cj

    def icp_type(self, desc: Any, env: dict[str, Any] | None = None) -> Any:
        """The icp_candid type of a JSON description."""
        env = env or {}
        d = self.cj.norm(desc)
        t = d["t"]
        simple = {
            "null": Types.Null,
            "bool": Types.Bool,
            "nat": Types.Nat,
            "int": Types.Int,
            "nat8": Types.Nat8,
            "nat16": Types.Nat16,
            "nat32": Types.Nat32,
            "nat64": Types.Nat64,
            "int8": Types.Int8,
            "int16": Types.Int16,
            "int32": Types.Int32,
            "int64": Types.Int64,
            "float32": Types.Float32,
            "float64": Types.Float64,
            "text": Types.Text,
            "reserved": Types.Reserved,
            "empty": Types.Empty,
            "principal": Types.Principal,
        }
        if t in simple:
            return simple[t]
        if t == "opt":
            return Types.Opt(self.icp_type(d["of"], env))
        if t == "vec":
            return Types.Vec(self.icp_type(d["of"], env))
        if t == "tuple":
            return Types.Tuple(*[self.icp_type(x, env) for x in d["of"]])
        if t == "record":
            return Types.Record(
                {self.cj.field_key(k): self.icp_type(x, env) for k, x in d["fields"]}
            )
        if t == "variant":
            return Types.Variant({k: self.icp_type(x, env) for k, x in d["fields"]})
        if t == "func":
            args = [self.icp_type(x, env) for x in d["args"]]
            rets = [self.icp_type(x, env) for x in d["rets"]]
            return Types.Func(args, rets, list(d.get("modes", [])))
        if t == "service":
            return Types.Service({k: self.icp_type(x, env) for k, x in d["methods"]})
        if t == "rec":
            knot = Types.Rec()
            knot.fill(self.icp_type(d["body"], {**env, d["name"]: knot}))
            return knot
        if t == "ref":
            return env[d["name"]]
        raise ValueError(f"unknown type description {desc!r}")

    def to_icp(self, desc: Any, v: Any, env: dict[str, Any] | None = None) -> Any:
        """The icp_candid value of a JSON rendering."""
        d, env = self.cj.resolve(desc, env or {})
        t = d["t"]
        if t in self.cj.INT_TYPES:
            return int(v)
        if t in ("null", "reserved"):
            return None
        if t in ("bool", "text", "float32", "float64"):
            return v
        if t == "principal":
            return IcpPrincipal.from_str(v["principal"])
        if t == "opt":
            return [self.to_icp(d["of"], v[0], env)] if v else []
        if t == "vec":
            if self.cj.norm(d["of"])["t"] == "nat8":
                return bytes.fromhex(v["blob"])
            return [self.to_icp(d["of"], x, env) for x in v]
        if t == "tuple":
            return [self.to_icp(x, y, env) for x, y in zip(d["of"], v, strict=True)]
        if t == "record":
            return {k: self.to_icp(x, v[k], env) for k, x in d["fields"]}
        if t == "variant":
            ((tag, inner),) = v.items()
            (x,) = [x for k, x in d["fields"] if k == tag]
            return {tag: self.to_icp(x, inner, env)}
        if t == "func":
            return (IcpPrincipal.from_str(v["func"][0]), v["func"][1])
        if t == "service":
            return IcpPrincipal.from_str(v["service"])
        raise ValueError(f"no value of type {desc!r}")

    def render_icp(self, desc: Any, v: Any, env: dict[str, Any] | None = None) -> Any:
        """The JSON rendering of an icp_candid decoded value."""
        d, env = self.cj.resolve(desc, env or {})
        t = d["t"]
        if t in self.cj.INT_TYPES:
            return str(v)
        if t in ("null", "reserved"):
            return None
        if t in ("bool", "text", "float32", "float64"):
            return v
        if t == "principal":
            return {"principal": v.to_str()}
        if t == "opt":
            return [self.render_icp(d["of"], v[0], env)] if v else []
        if t == "vec":
            if self.cj.norm(d["of"])["t"] == "nat8":
                return {"blob": bytes(v).hex()}
            return [self.render_icp(d["of"], x, env) for x in v]
        if t == "tuple":
            items = [v[str(i)] for i in range(len(d["of"]))] if isinstance(v, dict) else v
            return [self.render_icp(x, y, env) for x, y in zip(d["of"], items, strict=True)]
        if t == "record":
            if isinstance(v, list):  # icp_candid turns records with fields "0".."n-1" into lists
                v = {str(i): x for i, x in enumerate(v)}
            return {k: self.render_icp(x, v[k], env) for k, x in d["fields"]}
        if t == "variant":
            ((tag, inner),) = v.items()
            (x,) = [x for k, x in d["fields"] if k == tag]
            return {tag: self.render_icp(x, inner, env)}
        if t == "func":
            return {"func": [v[0].to_str(), v[1]]}
        if t == "service":
            return {"service": v.to_str()}
        raise ValueError(f"no value of type {desc!r}")


@pytest.fixture(scope="module")
def icp(candid_json) -> IcpCandid:
    return IcpCandid(candid_json)


# --- Candid ---------------------------------------------------------------------------


def _icp_blob(icp: IcpCandid, case: dict[str, Any]) -> bytes:
    return icp_encode(
        [
            {"type": icp.icp_type(d), "value": icp.to_icp(d, v)}
            for d, v in zip(case["types"], case["values"], strict=True)
        ]
    )


def test_icp_py_core_blob_decodes_in_icbox_to_the_same_values(
    candid_case, icp, candid_json
) -> None:
    blob = _icp_blob(icp, candid_case)
    types = [candid_json.build_type(d) for d in candid_case["types"]]
    values = candid.decode(blob, types)
    rendered = [candid_json.render(d, v) for d, v in zip(candid_case["types"], values, strict=True)]
    assert rendered == candid_case["values"], blob.hex()


def test_icbox_blob_decodes_in_icp_py_core_to_the_same_values(
    candid_case, icp, candid_json
) -> None:
    if not candid_case["types"]:
        pytest.skip("icp_candid.decode treats an empty type list as 'use the wire types'")
    types = [candid_json.build_type(d) for d in candid_case["types"]]
    values = [
        candid_json.to_value(d, v)
        for d, v in zip(candid_case["types"], candid_case["values"], strict=True)
    ]
    blob = candid.encode(types, values)
    decoded = icp_decode(blob, [icp.icp_type(d) for d in candid_case["types"]])
    rendered = [
        icp.render_icp(d, out["value"])
        for d, out in zip(candid_case["types"], decoded, strict=True)
    ]
    assert rendered == candid_case["values"], blob.hex()


def test_icbox_encoding_is_byte_identical_to_icp_py_core_when_unique(
    candid_case, icp, candid_json
) -> None:
    """With at most one type-table entry the encoding is unique: the bytes must match."""
    theirs = _icp_blob(icp, candid_case)
    if theirs[4] > 1:
        pytest.skip("more than one type-table entry: the order may legally differ")
    types = [candid_json.build_type(d) for d in candid_case["types"]]
    values = [
        candid_json.to_value(d, v)
        for d, v in zip(candid_case["types"], candid_case["values"], strict=True)
    ]
    assert candid.encode(types, values) == theirs


# --- Principals -----------------------------------------------------------------------

PRINCIPAL_BYTES = [
    b"",
    b"\x04",
    (2).to_bytes(8, "big") + b"\x01\x01",
    (2**64 - 1).to_bytes(8, "big") + b"\x01\x01",
    b"\xaa",
    bytes(range(29)),
    hashlib.sha224(b"key").digest() + b"\x02",
]


def test_principal_text_and_bytes_agree_with_icp_py_core() -> None:
    for raw in PRINCIPAL_BYTES:
        ours = Principal(raw)
        theirs = IcpPrincipal(raw)
        assert ours.to_text() == theirs.to_str()
        assert Principal.from_text(theirs.to_str()).raw == raw
        assert IcpPrincipal.from_str(ours.to_text()).bytes == raw


def test_special_principals_agree_with_icp_py_core() -> None:
    assert Principal.anonymous().raw == IcpPrincipal.anonymous().bytes
    assert Principal.management_canister().raw == IcpPrincipal.management_canister().bytes


@pytest.mark.parametrize("key_type", ["ed25519", "secp256k1", "p256"])
def test_self_authenticating_id_equals_icp_py_core_sender(key_type) -> None:
    from icp_identity import Identity

    identity = Identity(privkey=(b"\x11" * 32).hex(), type=key_type)
    ours = Principal.self_authenticating(identity.der_pubkey)
    assert ours.raw == identity.sender().bytes
    assert ours.to_text() == identity.sender().to_str()
