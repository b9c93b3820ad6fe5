"""The house rules that hold the tree together: one-way imports, no shadowed packages, passing doctests."""

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("socioagent", "tools", "prompts", "agent", "evals", "train")

FLOORS = {"tools": 0, "prompts": 1, "agent": 2, "evals": 3, "train": 4, "socioagent": 5}
"""Imports flow from a higher floor to a lower or equal one only. ``socioagent/__init__.py`` (the layout guard,
stdlib only) is floor 0: every package imports it; the modules under it (the CLI) are the top floor."""


def _floor(module: str) -> int | None:
    top = module.split(".")[0]
    if module == "socioagent":
        return 0
    return FLOORS.get(top)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every project module a file imports, at any depth (lazy imports inside functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "lazy_import")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return [(line, m) for line, m in found if _floor(m) is not None]


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_imports_flow_one_way_from_the_bottom():
    back = []
    for path in _modules():
        here = _module_name(path)
        floor = _floor(here)
        for line, target in _imports(path):
            if _floor(target) > floor:
                back.append(f"{path.relative_to(ROOT)}:{line} ({here}, floor {floor}) imports {target} "
                            f"(floor {_floor(target)})")  # fmt: skip
    assert not back, "imports that go up a floor:\n" + "\n".join(back)


def test_the_import_graph_check_catches_a_back_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from evals.metrics import giou\n    import importlib\n"
                   "    importlib.import_module('socioagent.cli')\n")  # fmt: skip
    assert [m for _, m in _imports(bad)] == ["evals.metrics", "socioagent.cli"]
    assert _floor("evals.metrics") > _floor("tools.scene") and _floor("socioagent.cli") > _floor("evals.runner")


def test_a_shadowing_package_is_refused_with_a_clear_message(tmp_path):
    """A folder named like one of ours earlier on sys.path gives an ImportError naming it and the fix."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("")
    code = "import agent"
    env_path = f"{tmp_path}:{ROOT}"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert p.returncode != 0
    assert "package 'tools' is shadowed by" in p.stderr and str(tmp_path / "tools") in p.stderr
    assert "virtual environment" in p.stderr
    ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("package", [p for p in PACKAGES if (ROOT / p).is_dir()])
def test_packages_come_from_this_checkout(package):
    mod = importlib.import_module(package)
    assert Path(mod.__file__).resolve().parent == ROOT / package, (
        f"{package} was imported from {mod.__file__}, not from this checkout; another installed package "
        f"named {package!r} shadows it: `pip install -e .` here, or run from the repository root"
    )


DOCTESTED = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for pkg in PACKAGES
    if (ROOT / pkg).is_dir()
    for p in (ROOT / pkg).rglob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("name", DOCTESTED)
def test_doctests(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctests"
    assert result.failed == 0
