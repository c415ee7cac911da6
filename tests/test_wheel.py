"""The package as users get it: an sdist and a wheel built from this tree, the wheel
made self-contained by auditwheel (oneTBB and PCRE2 inside, a manylinux tag), then
installed into a fresh virtualenv and used with no library path pointing anywhere
useful. The build reuses scripts/setup.sh's build folder, so it takes seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SMOKE = """
import os, ragtune
from ragtune import Index, RecursiveChunker
from ragtune.embeddings import HashingEmbeddings
chunks = RecursiveChunker(chunk_size=30, chunk_overlap=0).split(
    "Tea is brewed from leaves.\\n\\nCoffee is roasted from beans.\\n\\nMilk comes from cows.", source="drinks.md")
index = Index(embedding=HashingEmbeddings(dim=64))
index.add(chunks)
hit = index.search("how is coffee made", k=1, mode="hybrid")[0]
maps = open("/proc/self/maps").read()
libraries = sorted({line.split()[-1] for line in maps.splitlines() if "libtbb" in line or "libpcre2" in line})
print(ragtune.__file__)
print(hit.citation(), hit.text)
print("\\n".join(libraries))
"""


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    deps = ROOT / "build" / "deps"
    assert deps.is_dir(), "run scripts/setup.sh first (it fetches the hnswlib headers into build/deps)"
    env = {**os.environ, "RAGTUNE_HNSWLIB_DIR": str(deps), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(out), str(ROOT), env=env)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", str(ROOT), "-w", str(out),
        f"-Ccmake.define.RAGTUNE_HNSWLIB_DIR={deps}", env=env)
    (wheel,) = out.glob("*-linux_x86_64.whl")
    shown = run(str(VENV_BIN / "auditwheel"), "show", str(wheel), env=env).stdout
    platform = next(word.strip('".') for word in shown.split() if word.startswith('"manylinux_'))
    repaired = out / "repaired"
    run(str(VENV_BIN / "auditwheel"), "repair", "--plat", platform, "-w", str(repaired), str(wheel), env=env)
    (fixed,) = repaired.glob("*.whl")
    return out, wheel, fixed, shown


def test_the_sdist_holds_the_sources_and_nothing_built_or_fetched(wheels):
    out, _, _, _ = wheels
    (sdist,) = out.glob("*.tar.gz")
    names = tarfile.open(sdist).getnames()
    assert any(n.endswith("/CMakeLists.txt") for n in names) and any("/cpp/src/" in n for n in names)
    assert any(n.endswith("python/ragtune/__init__.py") for n in names)
    # hnswlib's headers (.h) are fetched at set-up, never shipped; ragtune's own headers are .hpp.
    assert not [n for n in names if "/build/" in n or n.endswith((".h", ".so"))]


def test_the_repaired_wheel_bundles_tbb_and_pcre2_under_a_manylinux_tag(wheels):
    _, wheel, fixed, shown = wheels
    assert "manylinux_" in fixed.name and "manylinux_" in shown
    names = zipfile.ZipFile(fixed).namelist()
    bundled = [n for n in names if n.startswith("ragtune.libs/")]
    assert any("libtbb" in n for n in bundled) and any("libpcre2-8" in n for n in bundled), bundled
    assert not any("libtbb" in n for n in zipfile.ZipFile(wheel).namelist())  # auditwheel did the bundling
    print(f"wheel: {fixed.name}, {fixed.stat().st_size / 1e6:.2f} MB; bundled: {bundled}")


def test_the_wheel_works_in_a_fresh_virtualenv_without_system_library_paths(wheels, tmp_path):
    _, _, fixed, _ = wheels
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    site = next((venv / "lib").glob("python3*/site-packages"))
    # ragtune's two runtime dependencies come from this environment: nothing is downloaded.
    here = Path(__import__("numpy").__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs", "tqdm"):
        if (here / name).exists():
            (site / name).symlink_to(here / name)
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(fixed))
    result = run(str(venv / "bin" / "python"), "-c", SMOKE, cwd=tmp_path,
                 env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/nonexistent", "HOME": str(tmp_path)})
    module, hit, *libraries = result.stdout.strip().splitlines()
    assert module.startswith(str(venv)), module  # the installed wheel, not this checkout
    assert hit == "drinks.md:3-3 Coffee is roasted from beans."
    assert libraries and all("/ragtune.libs/" in path for path in libraries), libraries
