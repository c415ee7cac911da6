"""RAFT end to end: ``assemble`` + ``write_jsonl`` against plain Python writing the same
records (run through ``bench_raft.py --end-to-end``).

Data: linux-doc-6.1's reST files chunked by ``RecursiveChunker(1000, 150)`` (30,540
chunks), and N questions, each naming a random chunk as its oracle and quoting that
chunk's first 60 characters in its chain-of-thought answer (so ragtune's quote check
passes). ragtune runs with its defaults (quotes verified, near-duplicates and
repeated texts excluded, exact P) on 2 threads, and publishes the file atomically
(fsync + rename). The reference is what a user would otherwise write: sample k
uniform distractors, keep the oracle with probability P, shuffle, build the record
dict and ``json.dumps(..., ensure_ascii=False)`` it into an open file.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import time
from pathlib import Path

import ragtune
from ragtune import QAPair, RecursiveChunker
from ragtune.chunking.chunk import chunk_id
from ragtune.raft import assemble, write_jsonl

LINUX_DOCS = Path("/usr/share/doc/linux-doc-6.1/Documentation")
K, P = 4, 0.8


def corpus() -> list:
    paths = sorted(LINUX_DOCS.rglob("*.rst.gz"))
    texts = [gzip.open(p, "rb").read().decode("utf-8", "replace") for p in paths]
    sources = [str(p.relative_to(LINUX_DOCS)) for p in paths]
    docs = RecursiveChunker(chunk_size=1000, chunk_overlap=150).split_many(texts, sources=sources, progress=False)
    return [c for doc in docs for c in doc]


def questions(chunks: list, count: int) -> list[QAPair]:
    rng = random.Random(0)
    out = []
    for n in range(count):
        chunk = chunks[rng.randrange(len(chunks))]
        quote = chunk.text[:60].strip()
        out.append(QAPair(f"What does {chunk.source} say ({n})?", quote, id=f"q{n}", oracle_ids=(chunk_id(chunk),),
                          cot_answer=f"The document says ##begin_quote##{quote}##end_quote## <ANSWER>: {quote}"))
    return out


def plain_python(chunks: list, pairs: list[QAPair], path: Path, fmt: str) -> None:
    """Sampling as gorilla's raft/ does it, and the records of ``ragtune.raft.to_record``,
    written with json.dumps."""
    texts = {chunk_id(c): c.text for c in chunks}
    titles = {chunk_id(c): c.citation() for c in chunks}
    ids = list(texts)
    rng = random.Random(1)
    with open(path, "w", encoding="utf-8") as out:
        for pair in pairs:
            oracle = pair.oracle_ids[0]
            shown = [oracle]
            while len(shown) < K + 1:
                candidate = ids[rng.randrange(len(ids))]
                if candidate not in shown:
                    shown.append(candidate)
            if rng.random() >= P:
                while True:
                    candidate = ids[rng.randrange(len(ids))]
                    if candidate not in shown:
                        shown[0] = candidate
                        break
            rng.shuffle(shown)
            documents = [texts[i] for i in shown]
            instruction = "".join(f"<DOCUMENT>{d}</DOCUMENT>\n" for d in documents) + pair.question
            cot = pair.cot_answer
            if fmt == "hf":
                record = {"id": pair.id, "type": "general", "question": pair.question,
                          "context": {"title": [[titles[i] for i in shown]], "sentences": [documents]},
                          "oracle_context": "\n".join(texts[i] for i in shown if i == oracle),
                          "cot_answer": cot, "instruction": instruction}
            elif fmt == "completion":
                record = {"prompt": instruction, "completion": cot}
            elif fmt == "chat":
                record = {"messages": [{"role": "user", "content": instruction},
                                       {"role": "assistant", "content": cot}]}
            else:
                marker = cot.rfind("<ANSWER>:")
                record = {"question": pair.question,
                          "gold_final_answer": cot[marker + 9:].strip() or None if marker >= 0 else None,
                          "context": "\n".join(f"<DOCUMENT>{d}</DOCUMENT>" for d in documents)}
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")


def ragtune_end_to_end(chunks: list, pairs: list[QAPair], path: Path, fmt: str) -> tuple[float, float]:
    started = time.perf_counter()
    data = assemble(chunks, pairs, distractors=K, p=P, seed=1, threads=2)
    assembled = time.perf_counter()
    write_jsonl(data, path, fmt, threads=2)
    return assembled - started, time.perf_counter() - assembled


def end_to_end(sizes: list[int], formats: list[str], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = corpus()
    print(json.dumps({"chunks": len(chunks), "k": K, "p": P, "cores": os.cpu_count(), "out": str(out_dir),
                      "ragtune": ragtune.__version__}))
    print(f"{'examples':>9} {'format':<10} {'python':>9} {'ragtune':>9} {'assemble':>9} {'write':>8} "
          f"{'GB':>6} {'ratio':>7}")
    for size in sizes:
        pairs = questions(chunks, size)
        for fmt in formats:
            path = out_dir / f"raft-{fmt}.jsonl"
            started = time.perf_counter()
            plain_python(chunks, pairs, path, fmt)
            python_seconds = time.perf_counter() - started
            path.unlink()
            assemble_seconds, write_seconds = ragtune_end_to_end(chunks, pairs, path, fmt)
            size_gb = path.stat().st_size / 1e9
            path.unlink()
            total = assemble_seconds + write_seconds
            print(f"{size:>9,} {fmt:<10} {python_seconds:8.2f}s {total:8.2f}s {assemble_seconds:8.2f}s "
                  f"{write_seconds:7.2f}s {size_gb:6.2f} {python_seconds / total:6.1f}x", flush=True)
