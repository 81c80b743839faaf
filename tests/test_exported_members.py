"""Every module states its public surface: an `__all__` whose names all exist.

(Its order is checked by ruff's RUF022, isort-style.)
"""

import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("replica_core", "gateway", "identity")
    for path in (ROOT / package).rglob("*.py")
)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        public = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and n != "annotations" and not isinstance(v, ModuleType)
        ]
        assert public == [], f"{name} has public names {public} but no __all__"
        return
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names missing attributes: {missing}"
