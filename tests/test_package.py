"""The package surface: version, stubs, SIMD introspection."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ragtune
from ragtune import _core


def test_version_is_exposed():
    assert ragtune.__version__ == _core.__version__
    assert ragtune.__version__.count(".") == 2


def test_stub_lists_exactly_what_core_exports():
    stub = Path(ragtune.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    exported = {name for name in dir(_core) if not (name.startswith("__") and name != "__version__")}
    assert declared == exported


def test_package_is_typed():
    assert Path(ragtune.__file__).with_name("py.typed").exists()


def test_simd_info_reports_active_and_available():
    info = ragtune.simd_info()
    assert info["active"] in info["available"]
    assert info["available"][0] == "sse2"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.mark.parametrize("isa", ragtune.simd_info()["available"])
def test_force_isa_environment_variable(isa):
    result = run_python("import ragtune; print(ragtune.simd_info()['active'])", RAGTUNE_FORCE_ISA=isa)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == isa


def test_unknown_forced_isa_is_a_clear_error():
    result = run_python("import ragtune; ragtune.simd_info()", RAGTUNE_FORCE_ISA="neon")
    assert result.returncode != 0
    assert "unknown ISA 'neon'" in result.stderr
