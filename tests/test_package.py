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


def test_unknown_forced_isa_fails_the_import_naming_the_valid_ones():
    result = run_python("import ragtune", RAGTUNE_FORCE_ISA="neon")  # before: ignored until simd_info() was called
    assert result.returncode != 0 and "ImportError" in result.stderr
    assert "RAGTUNE_FORCE_ISA=neon: unknown ISA 'neon': expected one of sse2, sse4_2, avx2, avx512bw" in result.stderr


def test_a_forced_isa_is_the_one_the_kernels_run():
    # The same text, chunked and hashed under each forced ISA, gives one answer; and the
    # ISA reported is the one chosen (one selection read by the kernels and simd_info()).
    code = ("import ragtune, hashlib; from ragtune import RecursiveChunker, HashingEmbeddings; "
            "t = 'naïve café — ' * 500; c = RecursiveChunker(chunk_size=64, chunk_overlap=8).split(t); "
            "v = HashingEmbeddings(dim=64).encode([x.text for x in c]); "
            "print(ragtune.simd_info()['active'], len(c), hashlib.sha256(v.tobytes()).hexdigest())")
    outputs = {isa: run_python(code, RAGTUNE_FORCE_ISA=isa).stdout.split() for isa in ragtune.simd_info()["available"]}
    assert all(out[0] == isa for isa, out in outputs.items()), outputs
    assert len({tuple(out[1:]) for out in outputs.values()}) == 1, outputs
