#!/usr/bin/env bash
# Builds the C++ unit tests (and the fuzz targets) with clang under sanitizers.
#   bash scripts/build_sanitizers.sh address   -> build/sanitize: ASan + UBSan, tests and libFuzzer targets
#   bash scripts/build_sanitizers.sh thread    -> build/tsan: TSan, tests (scripts/test.sh runs Concurrency.*)
# Needs scripts/setup.sh first (it installs clang and the hnswlib headers). Incremental: cheap to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kind=${1:-address}
common=(-G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja" -DCMAKE_CXX_COMPILER=clang++
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAGTUNE_BUILD_TESTS=ON -DRAGTUNE_BUILD_PYTHON=OFF
        -DRAGTUNE_HNSWLIB_DIR="$root/build/deps")
case "$kind" in
  address) dir=build/sanitize; extra=(-DRAGTUNE_SANITIZE=address,undefined -DRAGTUNE_BUILD_FUZZERS=ON) ;;
  thread)  dir=build/tsan;     extra=(-DRAGTUNE_SANITIZE=thread) ;;
  *) echo "usage: build_sanitizers.sh address|thread" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${common[@]}" "${extra[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null
echo "$dir"
