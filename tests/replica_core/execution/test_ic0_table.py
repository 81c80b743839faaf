"""The ic0 import table: complete, with the spec's signatures and contexts."""

import re
import runpy
from pathlib import Path

import pytest

from replica_core.execution.ic0 import ALL_CONTEXTS, CONTEXTS, IC0, imports_for, signature

DIGEST = Path("/work/shared/spec/system-api.md")

# The union of ic0 imports of Motoko canisters, as measured in the project's notes
# (moc-canisters.md): name → (wasm64, wasm32) signature; shared with tests/canisters.
MOC_IMPORTS: dict[str, tuple[str | None, str | None]] = runpy.run_path(
    str(Path(__file__).resolve().parents[2] / "canisters" / "moc_imports.py")
)["MOC_IC0_IMPORTS"]


def types_of(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\b(i32|i64)\b", text))


def parse_signature(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    params, results = text.split("->")
    return types_of(params), types_of(results)


@pytest.mark.parametrize("name", sorted(MOC_IMPORTS))
def test_every_import_motoko_uses_is_in_the_table_with_its_signature(name):
    wasm64, wasm32 = MOC_IMPORTS[name]
    if wasm64 is not None:
        assert signature(name, is_64=True) == parse_signature(wasm64)
    if wasm32 is not None:
        assert signature(name, is_64=False) == parse_signature(wasm32)


def digest_rows() -> list[tuple[str, str, str | None, str]]:
    """(name, wasm32 signature, wasm64 signature or None, contexts) from the spec digest."""
    rows = []
    wasm32_only = False
    text = DIGEST.read_text()
    section = text[text.index("## 3. ic0 imports") : text.index("## 4.")]
    for line in section.splitlines():
        if line.startswith("Only when `I = i32`"):
            wasm32_only = True
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if not cells or not re.fullmatch(r"`[a-z0-9_]+`", cells[0]):
            continue
        name = cells[0].strip("`")
        if wasm32_only:
            rows.append((name, cells[1], None, cells[2]))
        else:
            sig64 = cells[1] if cells[2] == "same" else cells[2]
            rows.append((name, cells[1], sig64, cells[3]))
    return rows


@pytest.mark.skipif(not DIGEST.exists(), reason="spec digest not available")
def test_table_matches_the_spec_digest_row_by_row():
    rows = digest_rows()
    assert {name for name, *_ in rows} == set(IC0)
    for name, sig32, sig64, contexts in rows:
        row = IC0[name]
        assert (row.params32, row.results32) == parse_signature(sig32), name
        if sig64 is None:
            assert row.wasm32_only, name
        else:
            assert (row.params64, row.results64) == parse_signature(sig64), name
        expected = set()
        for code in contexts.split():
            expected |= (
                ALL_CONTEXTS if code == "*" else {"RQ", "NRQ", "TQ"} if code == "Q" else {code}
            )
        assert row.contexts == expected, name


def test_table_has_every_spec_import_including_new_and_deprecated_ones():
    for name in [
        "msg_caller_info_data_size",
        "msg_caller_info_signer_copy",
        "env_var_value_copy",
        "cost_vetkd_derive_key",
        "subnet_self_copy",
        "root_key_size",
        "in_replicated_execution",
        "canister_liquid_cycle_balance128",
        "call_cycles_add",
        "stable_grow",
    ]:
        assert name in IC0
    assert len(IC0) == 74


def test_star_means_every_context_but_the_start_function():
    assert IC0["time"].contexts == ALL_CONTEXTS
    assert "s" not in IC0["time"].contexts
    assert IC0["trap"].contexts == ALL_CONTEXTS | {"s"}
    assert set(CONTEXTS) == ALL_CONTEXTS | {"s"}


def test_only_inspect_message_may_accept_a_message():
    assert IC0["accept_message"].contexts == {"F"}


def test_pointer_arguments_follow_the_module_pointer_width():
    assert signature("call_new", is_64=False) == (("i32",) * 8, ())
    assert signature("call_new", is_64=True) == (("i64",) * 8, ())
    assert signature("cost_sign_with_ecdsa", is_64=True) == (("i64", "i64", "i32", "i64"), ("i32",))
    assert signature("msg_cycles_accept128", is_64=False) == (("i64", "i64", "i32"), ())


def test_wasm32_only_imports_do_not_exist_for_wasm64():
    wasm32_only = {name for name, row in IC0.items() if row.wasm32_only}
    assert wasm32_only == {
        "msg_cycles_available",
        "msg_cycles_refunded",
        "msg_cycles_accept",
        "canister_cycle_balance",
        "call_cycles_add",
        "stable_size",
        "stable_grow",
        "stable_write",
        "stable_read",
    }
    assert signature("stable_size", is_64=False) == ((), ("i32",))
    with pytest.raises(KeyError, match="only available to wasm32"):
        signature("stable_size", is_64=True)
    assert wasm32_only.isdisjoint(imports_for(is_64=True))
    assert wasm32_only <= set(imports_for(is_64=False))


def test_unknown_import_has_no_signature():
    with pytest.raises(KeyError, match="not a System API import"):
        signature("mint_cycles", is_64=False)
