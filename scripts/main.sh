#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs ragtune's main job on real
# documents: the Python 3.11 documentation from Debian's python3.11-doc.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/ragtune chunk /usr/share/doc/python3.11/html/_sources --chunk-size 1000 --chunk-overlap 200 "$@"
