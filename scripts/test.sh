#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite:
# the C++ unit tests under ctest, then pytest (which also runs the notebooks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
(cd build/cpp-tests && ctest --output-on-failure --timeout 300)
.venv/bin/python -m pytest -p no:cacheprovider "$@"
