#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite:
#   1. the C++ unit tests under ctest (release build)
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang),
#      which also builds the libFuzzer targets
#   3. the concurrency tests under ThreadSanitizer
#   4. pytest: Python tests, notebooks, the fuzz smoke run, crash and stress tests
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
(cd build/cpp-tests && ctest --output-on-failure --timeout 300)
bash scripts/build_sanitizers.sh address >/dev/null
(cd build/sanitize && ctest --output-on-failure --timeout 600)
bash scripts/build_sanitizers.sh thread >/dev/null
TSAN_OPTIONS="halt_on_error=1 history_size=7 suppressions=$PWD/cpp/tests/tsan.supp" \
  build/tsan/ragtune_tests --gtest_filter='Concurrency.*:parallel_for_each.*'
.venv/bin/python -m pytest -p no:cacheprovider "$@"
