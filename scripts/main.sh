#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs ragtune's main job on real
# documents: indexes the Python 3.11 FAQ and tutorial (Debian's python3.11-doc)
# with the default local embedder (MiniLM, offline) and answers sample questions
# with citations (file:lines).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
docs=/usr/share/doc/python3.11/html/_sources
.venv/bin/ragtune index "$docs/faq" "$docs/tutorial" --out build/main-index
.venv/bin/ragtune query build/main-index \
  "How do I make an executable from a Python script?" \
  "Why are default values shared between objects?" \
  "How do I read a file line by line?" "$@"
