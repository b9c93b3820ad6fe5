"""The packages import from this checkout (generic names like `tools` could be shadowed), and doctests pass."""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["agent", "tools", "prompts", "evals", "train"])
def test_packages_come_from_this_checkout(package):
    mod = importlib.import_module(package)
    assert Path(mod.__file__).resolve().parent == ROOT / package, (
        f"{package} was imported from {mod.__file__}, not from this checkout; another installed package "
        f"named {package!r} shadows it: `pip install -e .` here, or run from the repository root"
    )


DOCTESTED = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for pkg in ("agent", "tools", "prompts", "evals", "train")
    for p in (ROOT / pkg).rglob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("name", DOCTESTED)
def test_doctests(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctests"
    assert result.failed == 0
