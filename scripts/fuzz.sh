#!/usr/bin/env bash
# Runs ragtune's fuzz targets, each for a chosen time, and prints executions per target.
#   bash scripts/fuzz.sh [SECONDS] [TARGET ...]
# C++ targets (libFuzzer + ASan + UBSan, clang): recursive_splitter safetensors word_tokenizer index_loader merge_writer
# Python targets (atheris):                      py_chunkers py_raft_quotes py_adapter_config py_index_load
# Seeds come from tests/fuzz/corpus/<target>/; new inputs go to build/fuzz-work/<target>/,
# crashes to build/fuzz-work/crashes/. A crash makes the script fail: copy the input into
# tests/fuzz/corpus/<target>/regression-<what> so the test suite replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
cpp_targets=(recursive_splitter safetensors word_tokenizer index_loader merge_writer)
py_targets=(py_chunkers py_raft_quotes py_adapter_config py_index_load)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${cpp_targets[@]}" "${py_targets[@]}")

bash scripts/build_sanitizers.sh address >/dev/null
export HF_HUB_OFFLINE=1
work=build/fuzz-work
mkdir -p "$work/crashes"
failed=0
printf "%-20s %12s %10s %s\n" target executions seconds result
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  log="$work/$target.log"
  flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -artifact_prefix="$work/crashes/$target-")
  if [[ $target == py_* ]]; then
    command=(.venv/bin/python tests/fuzz/run_atheris.py "$target" "${flags[@]}")
  else
    command=("build/sanitize/fuzz_$target" "${flags[@]}" -max_len=65536)
  fi
  if "${command[@]}" "$work/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1; then result=ok; else result="CRASH (see $log)"; failed=1; fi
  runs=$(grep -oE "Done [0-9]+ runs in [0-9]+" "$log" | tail -1 | awk '{print $2, $5}')
  printf "%-20s %12s %10s %s\n" "$target" "${runs% *}" "${runs#* }" "$result"
done
exit $failed
