"""Candid cases shared by the interop tests: JSON type descriptions, values, converters.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md).

The same descriptions drive gen_candid.mjs (agent-js), icp_candid (icp-py-core, in its test
module) and icbox's `replica_core.candid` (`CandidJson` here). Loaded by conftest.py.

A type is a bare primitive name ("nat") or {"t": ...} (see gen_candid.mjs for the grammar);
a value is rendered type-directed: integers as decimal strings, floats as numbers, opt as []
or [v], blob as {"blob": hex}, record as an object keyed by field name (digits for ids),
tuple as a list, variant as {tag: v}, principal {"principal": text}, func
{"func": [text, method]}, service {"service": text}, null/reserved as null.
"""

from __future__ import annotations

from typing import Any

from replica_core.candid import types as ct
from replica_core.principal import Principal

__all__ = ["CANDID_CASES", "INT_TYPES", "CandidJson", "field_key", "norm", "resolve"]

Desc = str | dict[str, Any]

BIG_INTS = ("nat", "int", "nat64", "int64")
SMALL_INTS = ("nat8", "nat16", "nat32", "int8", "int16", "int32")
INT_TYPES = BIG_INTS + SMALL_INTS


def norm(desc: Desc) -> dict[str, Any]:
    """`"nat"` → `{"t": "nat"}`; anything else unchanged."""
    return {"t": desc} if isinstance(desc, str) else desc


def resolve(desc: Desc, env: dict[str, Desc]) -> tuple[dict[str, Any], dict[str, Desc]]:
    """Unfold `rec`/`ref` descriptions to the first structural one."""
    d = norm(desc)
    while d["t"] in ("rec", "ref"):
        if d["t"] == "rec":
            env = {**env, d["name"]: d["body"]}
            d = norm(d["body"])
        else:
            d = norm(env[d["name"]])
    return d, env


def field_key(name: str) -> str | int:
    """Our dict key for a described field: an int id for digits, else the name."""
    return int(name) if name.isdecimal() else name


def _principal(text: str) -> Principal:
    return Principal.from_text(text)


def p(text: str) -> dict[str, str]:
    """The JSON rendering of a principal."""
    return {"principal": text}


def n(value: int) -> str:
    """The JSON rendering of an integer."""
    return str(value)


class CandidJson:
    """Build icbox Candid types and values from JSON descriptions, and render values back.

    The description helpers are attributes too, so test modules reach them via the fixture.
    """

    INT_TYPES = INT_TYPES
    norm = staticmethod(norm)
    resolve = staticmethod(resolve)
    field_key = staticmethod(field_key)

    def build_type(self, desc: Desc, env: dict[str, Any] | None = None) -> Any:
        env = env or {}
        d = norm(desc)
        t = d["t"]
        if t in ct.PRIMITIVES:
            return ct.PRIMITIVES[t]
        if t == "opt":
            return ct.Opt(self.build_type(d["of"], env))
        if t == "vec":
            return ct.Vec(self.build_type(d["of"], env))
        if t == "tuple":
            return ct.Record.tuple([self.build_type(x, env) for x in d["of"]])
        if t in ("record", "variant"):
            cls = ct.Record if t == "record" else ct.Variant
            return cls.of([(field_key(name), self.build_type(x, env)) for name, x in d["fields"]])
        if t == "func":
            return ct.Func(
                tuple(self.build_type(x, env) for x in d["args"]),
                tuple(self.build_type(x, env) for x in d["rets"]),
                tuple(d.get("modes", ())),
            )
        if t == "service":
            return ct.Service(tuple((name, self.build_type(x, env)) for name, x in d["methods"]))
        if t == "rec":
            knot = ct.Rec(d["name"])
            knot.define(self.build_type(d["body"], {**env, d["name"]: knot}))
            return knot
        if t == "ref":
            return env[d["name"]]
        raise ValueError(f"unknown type description {desc!r}")

    def to_value(self, desc: Desc, v: Any, env: dict[str, Desc] | None = None) -> Any:
        """The icbox Python value of a JSON rendering."""
        d, env = resolve(desc, env or {})
        t = d["t"]
        if t in INT_TYPES:
            return int(v)
        if t in ("null", "reserved"):
            return None
        if t in ("bool", "text"):
            return v
        if t in ("float32", "float64"):
            return float(v)
        if t == "principal":
            return _principal(v["principal"])
        if t == "opt":
            return [self.to_value(d["of"], v[0], env)] if v else []
        if t == "vec":
            if norm(d["of"])["t"] == "nat8":
                return bytes.fromhex(v["blob"])
            return [self.to_value(d["of"], x, env) for x in v]
        if t == "tuple":
            return [self.to_value(x, y, env) for x, y in zip(d["of"], v, strict=True)]
        if t == "record":
            return {field_key(k): self.to_value(x, v[k], env) for k, x in d["fields"]}
        if t == "variant":
            ((tag, inner),) = v.items()
            (x,) = [x for k, x in d["fields"] if k == tag]
            return {field_key(tag): self.to_value(x, inner, env)}
        if t == "func":
            return (_principal(v["func"][0]), v["func"][1])
        if t == "service":
            return _principal(v["service"])
        raise ValueError(f"no value of type {desc!r}")

    def render(self, desc: Desc, v: Any, env: dict[str, Desc] | None = None) -> Any:
        """The JSON rendering of an icbox Python value."""
        d, env = resolve(desc, env or {})
        t = d["t"]
        if t in INT_TYPES:
            assert isinstance(v, int) and not isinstance(v, bool), f"{t} decoded as {v!r}"
            return str(v)
        if t in ("null", "reserved"):
            assert v is None
            return None
        if t in ("bool", "text", "float32", "float64"):
            return v
        if t == "principal":
            return {"principal": v.to_text()}
        if t == "opt":
            assert isinstance(v, list) and len(v) <= 1, f"opt decoded as {v!r}"
            return [self.render(d["of"], v[0], env)] if v else []
        if t == "vec":
            if norm(d["of"])["t"] == "nat8":
                return {"blob": bytes(v).hex()}
            return [self.render(d["of"], x, env) for x in v]
        if t == "tuple":
            items = [v[i] for i in range(len(d["of"]))] if isinstance(v, dict) else list(v)
            return [self.render(x, y, env) for x, y in zip(d["of"], items, strict=True)]
        if t == "record":
            assert isinstance(v, dict), f"record decoded as {v!r}"
            return {k: self.render(x, v[field_key(k)], env) for k, x in d["fields"]}
        if t == "variant":
            ((tag, inner),) = v.items()
            (name, x) = next((k, x) for k, x in d["fields"] if field_key(k) == tag)
            return {name: self.render(x, inner, env)}
        if t == "func":
            principal, method = v
            return {"func": [principal.to_text(), method]}
        if t == "service":
            return {"service": v.to_text()}
        raise ValueError(f"no value of type {desc!r}")


LIST = {
    "t": "rec",
    "name": "List",
    "body": {
        "t": "opt",
        "of": {"t": "record", "fields": [["head", "int"], ["tail", {"t": "ref", "name": "List"}]]},
    },
}
TREE = {
    "t": "rec",
    "name": "Tree",
    "body": {
        "t": "variant",
        "fields": [
            ["leaf", "nat"],
            [
                "node",
                {
                    "t": "record",
                    "fields": [
                        ["left", {"t": "ref", "name": "Tree"}],
                        ["right", {"t": "ref", "name": "Tree"}],
                    ],
                },
            ],
        ],
    },
}
MUTUAL = {
    "t": "rec",
    "name": "A",
    "body": {
        "t": "record",
        "fields": [
            [
                "b",
                {
                    "t": "opt",
                    "of": {
                        "t": "rec",
                        "name": "B",
                        "body": {
                            "t": "record",
                            "fields": [["a", {"t": "opt", "of": {"t": "ref", "name": "A"}}]],
                        },
                    },
                },
            ]
        ],
    },
}
GREET = {"t": "func", "args": ["text"], "rets": ["text"], "modes": ["query"]}
CANISTER = "ryjl3-tyaaa-aaaaa-aaaba-cai"
USER = "wf3fv-4c4nr-7ks2b-xa4u7-kf3no-32glf-lf7e4-4ng4a-wwtlu-a2vnq-nae"


def _list(items: list[int]) -> Any:
    out: list[Any] = []
    for item in reversed(items):
        out = [{"head": n(item), "tail": out}]
    return out


CANDID_CASES: list[dict[str, Any]] = [
    {"name": "no-args", "types": [], "values": []},
    {"name": "null-bool", "types": ["null", "bool", "bool"], "values": [None, True, False]},
    {"name": "reserved", "types": ["reserved", "nat8"], "values": [None, n(1)]},
    {
        "name": "nat",
        "types": ["nat"] * 6,
        "values": [n(x) for x in (0, 127, 128, 624485, 2**64, 2**128 + 1)],
    },
    {
        "name": "int",
        "types": ["int"] * 6,
        "values": [n(x) for x in (0, -1, 63, -64, -(2**100), 2**70 + 3)],
    },
    {
        "name": "fixed-nat-max",
        "types": ["nat8", "nat16", "nat32", "nat64"],
        "values": [n(255), n(65535), n(2**32 - 1), n(2**64 - 1)],
    },
    {"name": "fixed-nat-zero", "types": ["nat8", "nat16", "nat32", "nat64"], "values": [n(0)] * 4},
    {
        "name": "fixed-int-min",
        "types": ["int8", "int16", "int32", "int64"],
        "values": [n(-128), n(-32768), n(-(2**31)), n(-(2**63))],
    },
    {
        "name": "fixed-int-max",
        "types": ["int8", "int16", "int32", "int64"],
        "values": [n(127), n(32767), n(2**31 - 1), n(2**63 - 1)],
    },
    {
        "name": "floats",
        "types": ["float32", "float64", "float64", "float32"],
        "values": [1.5, 3.141592653589793, -1e300, -0.25],
    },
    {
        "name": "text",
        "types": ["text", "text", "text"],
        "values": ["", "hello", "h\u00e9llo \u2713 \U0001f600"],
    },
    {
        "name": "principal",
        "types": ["principal"] * 3,
        "values": [p("aaaaa-aa"), p(CANISTER), p(USER)],
    },
    {"name": "opt", "types": [{"t": "opt", "of": "nat"}] * 2, "values": [[], [n(42)]]},
    {
        "name": "nested-opt",
        "types": [{"t": "opt", "of": {"t": "opt", "of": {"t": "opt", "of": "text"}}}] * 4,
        "values": [[], [[]], [[[]]], [[["deep"]]]],
    },
    {
        "name": "vec-int",
        "types": [{"t": "vec", "of": "int"}] * 2,
        "values": [[], [n(1), n(-2), n(300)]],
    },
    {
        "name": "blob",
        "types": [{"t": "vec", "of": "nat8"}] * 2,
        "values": [{"blob": ""}, {"blob": "00ff10deadbeef"}],
    },
    {
        "name": "vec-vec",
        "types": [{"t": "vec", "of": {"t": "vec", "of": "text"}}, {"t": "vec", "of": "nat16"}],
        "values": [[["a", "b"], [], ["c"]], [n(1), n(65535)]],
    },
    {
        "name": "record",
        "types": [
            {
                "t": "record",
                "fields": [
                    ["name", "text"],
                    ["age", "nat8"],
                    ["tags", {"t": "vec", "of": "text"}],
                    ["owner", "principal"],
                ],
            }
        ],
        "values": [{"name": "alice", "age": n(30), "tags": ["x", "y"], "owner": p(USER)}],
    },
    {
        "name": "record-numeric-ids",
        "types": [{"t": "record", "fields": [["0", "nat"], ["5", "text"], ["4294967295", "bool"]]}],
        "values": [{"0": n(7), "5": "five", "4294967295": True}],
    },
    {
        "name": "tuple",
        "types": [{"t": "tuple", "of": ["nat", "text", "principal"]}],
        "values": [[n(1), "one", p(CANISTER)]],
    },
    {
        "name": "empty-records",
        "types": [{"t": "record", "fields": []}, {"t": "tuple", "of": []}],
        "values": [{}, []],
    },
    {
        "name": "variant-ok-err",
        "types": [{"t": "variant", "fields": [["ok", "nat"], ["err", "text"]]}] * 2,
        "values": [{"ok": n(1)}, {"err": "boom"}],
    },
    {
        "name": "variant-null-arm",
        "types": [
            {
                "t": "variant",
                "fields": [
                    ["a", "null"],
                    ["b", "int"],
                    ["c", {"t": "record", "fields": [["x", "nat8"]]}],
                ],
            }
        ]
        * 3,
        "values": [{"a": None}, {"b": n(-5)}, {"c": {"x": n(9)}}],
    },
    {
        "name": "recursive-list",
        "types": [LIST, LIST],
        "values": [_list([]), _list([1, -2, 3, 2**80])],
    },
    {
        "name": "recursive-tree",
        "types": [TREE],
        "values": [
            {
                "node": {
                    "left": {"leaf": n(1)},
                    "right": {"node": {"left": {"leaf": n(2)}, "right": {"leaf": n(3)}}},
                }
            }
        ],
    },
    {
        "name": "func-service",
        "types": [
            GREET,
            {
                "t": "service",
                "methods": [
                    ["greet", GREET],
                    ["ping", {"t": "func", "args": [], "rets": [], "modes": ["oneway"]}],
                ],
            },
        ],
        "values": [{"func": [CANISTER, "greet"]}, {"service": CANISTER}],
    },
    {
        "name": "multiple-args",
        "types": [
            "text",
            "nat",
            {"t": "opt", "of": "principal"},
            {"t": "vec", "of": {"t": "tuple", "of": ["text", "int"]}},
        ],
        "values": ["multi", n(3), [p(USER)], [["a", n(1)], ["b", n(-1)]]],
    },
    {
        "name": "icrc-account",
        "types": [
            {
                "t": "record",
                "fields": [
                    ["owner", "principal"],
                    ["subaccount", {"t": "opt", "of": {"t": "vec", "of": "nat8"}}],
                ],
            },
            "nat",
        ],
        "values": [{"owner": p(USER), "subaccount": [{"blob": "00" * 32}]}, n(10**20)],
    },
    {
        "name": "zero-sized-elements",
        "types": [
            {"t": "vec", "of": "null"},
            {"t": "opt", "of": "null"},
            {"t": "opt", "of": "null"},
        ],
        "values": [[None, None, None], [], [None]],
    },
    {
        "name": "vec-opt-blob",
        "types": [{"t": "vec", "of": {"t": "opt", "of": {"t": "vec", "of": "nat8"}}}],
        "values": [[[], [{"blob": "01"}], [{"blob": ""}]]],
    },
    {
        "name": "huge-ints",
        "types": ["int", "int", "nat"],
        "values": [n(2**200), n(-(2**200) - 7), n(2**256 - 1)],
    },
    {
        "name": "variant-numeric-tags",
        "types": [{"t": "variant", "fields": [["0", "nat"], ["1", "text"], ["7", "null"]]}] * 3,
        "values": [{"0": n(3)}, {"1": "one"}, {"7": None}],
    },
    {
        "name": "mutual-recursion",
        "types": [MUTUAL],
        "values": [{"b": [{"a": [{"b": [{"a": []}]}]}]}],
    },
    {
        "name": "func-modes",
        "types": [
            {"t": "func", "args": [], "rets": ["nat"], "modes": ["composite_query"]},
            {"t": "func", "args": [{"t": "vec", "of": "principal"}], "rets": [], "modes": []},
        ],
        "values": [{"func": [CANISTER, "count"]}, {"func": ["aaaaa-aa", "\u00e9t\u00e9"]}],
    },
    {
        "name": "big-vec-of-records",
        "types": [
            {
                "t": "vec",
                "of": {
                    "t": "record",
                    "fields": [
                        ["id", "nat64"],
                        ["name", "text"],
                        ["owner", "principal"],
                        ["balance", "nat"],
                    ],
                },
            }
        ],
        "values": [
            [
                {
                    "id": n(i),
                    "name": f"user-{i}",
                    "owner": p(USER if i % 2 else CANISTER),
                    "balance": n(i * 10**18),
                }
                for i in range(300)
            ]
        ],
    },
]
"""A spread of Candid argument lists: every primitive, composites, recursion, references."""
