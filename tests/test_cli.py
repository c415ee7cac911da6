"""The command line, run as a user would (a subprocess), on real documents."""

import json
import os
import subprocess
import sys

from corpora import PYTHON_DOCS


def ragtune(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "ragtune", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_info_and_chunk():
    info = ragtune("info", "--json")
    assert info.returncode == 0 and json.loads(info.stdout)["simd"]["active"]
    assert json.loads(info.stdout)["threads"] >= 1
    chunk = ragtune("chunk", str(PYTHON_DOCS / "faq"), "--json", "--chunk-size", "500")
    summary = json.loads(chunk.stdout)
    assert summary["documents"] == len(list((PYTHON_DOCS / "faq").glob("*.rst.txt"))) and summary["chunks"] > 100


def test_index_then_query_with_citations(tmp_path):
    out = tmp_path / "ix"
    built = ragtune("index", str(PYTHON_DOCS / "faq"), "--out", str(out), "--embedder", "hashing", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["chunks"] > 100
    # No --embedder: the index remembers it was built with the hashing embedder.
    answer = ragtune("query", str(out), "How do I make a Python script executable on Unix?", "--json", "-k", "3")
    assert answer.returncode == 0, answer.stderr
    hits = json.loads(answer.stdout)[0]["hits"]
    assert len(hits) == 3 and hits[0]["citation"].startswith("faq/") and ":" in hits[0]["citation"]
    text = ragtune("query", str(out), "executable script", "--embedder", "hashing", "--mode", "bm25")
    assert "faq/library.rst.txt:" in text.stdout
    mismatched = ragtune("query", str(out), "executable script", "--embedder", "minilm")
    assert mismatched.returncode == 2 and "built with HashingEmbeddings" in mismatched.stderr


def test_index_on_an_existing_index_embeds_only_what_changed(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in sorted((PYTHON_DOCS / "faq").glob("*.rst.txt"))[:4]:
        (docs / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "ix"
    first = json.loads(ragtune("index", str(docs), "--out", str(out), "--embedder", "hashing", "--json").stdout)
    assert first["updated"] is False and first["chunks_embedded"] == first["chunks"] > 50
    again = ragtune("index", str(docs), "--out", str(out), "--embedder", "hashing")
    assert again.returncode == 0 and "0 embedded" in again.stdout and "4 unchanged" in again.stdout
    name = sorted(p.name for p in docs.iterdir())[0]
    with open(docs / name, "a", encoding="utf-8") as f:
        f.write("\n\nA new closing paragraph about virtual environments.\n")
    (docs / sorted(p.name for p in docs.iterdir())[1]).unlink()
    third = json.loads(ragtune("index", str(docs), "--out", str(out), "--embedder", "hashing", "--json").stdout)
    assert third["changed"] == [f"docs/{name}"] and len(third["deleted"]) == 1 and third["unchanged"] == 2
    assert 1 <= third["chunks_embedded"] <= 2 and third["chunks_removed"] > 10
    answer = json.loads(ragtune("query", str(out), "virtual environments closing paragraph", "--embedder", "hashing",
                                "--mode", "bm25", "--json", "-k", "1").stdout)
    assert answer[0]["hits"][0]["citation"].startswith(f"docs/{name}:")


def test_index_with_int8_vectors_then_query(tmp_path):
    out = tmp_path / "ix"
    built = ragtune("index", str(PYTHON_DOCS / "faq"), "--out", str(out), "--embedder", "hashing",
                    "--vector-dtype", "int8", "--json")
    assert built.returncode == 0, built.stderr
    answer = ragtune("query", str(out), "How do I make a Python script executable on Unix?", "--json", "-k", "3")
    assert answer.returncode == 0 and len(json.loads(answer.stdout)[0]["hits"]) == 3
    other = ragtune("index", str(PYTHON_DOCS / "faq"), "--out", str(out), "--vector-dtype", "f16")
    assert other.returncode == 2 and "stores its vectors as int8" in other.stderr


def test_errors_are_messages_not_tracebacks(tmp_path):
    missing = ragtune("query", str(tmp_path / "nothing"), "q")
    assert missing.returncode == 3 and "ragtune index" in missing.stderr and "Traceback" not in missing.stderr
    empty = ragtune("index", str(tmp_path), "--out", str(tmp_path / "ix"))
    assert empty.returncode == 2 and "no .txt/.md/.rst/.html documents" in empty.stderr
    bad = ragtune("chunk", str(PYTHON_DOCS / "faq"), "--chunk-size", "0")
    assert bad.returncode == 2 and "chunk_size must be >= 1" in bad.stderr


def test_merge_command_on_smollm2(tmp_path, smollm2, models):
    merged = ragtune("merge", str(smollm2), str(models("plain")), str(tmp_path / "m"), "--dtype", "bf16",
                     "--shard-size", "100MB")
    assert merged.returncode == 0, merged.stderr
    assert "60 tensors merged, 212 copied" in merged.stdout and "3 shards" in merged.stdout
    assert "merging" in merged.stderr  # the progress bar
    report = json.loads(ragtune("merge", str(smollm2), str(models("plain")), str(models("second")),
                                str(tmp_path / "two"), "--weights", "0.5", "0.5", "--json").stdout)
    assert report["merged"] == 60 and report["shards"] == 1 and report["bytes_written"] > 500e6
    failed = ragtune("merge", str(smollm2), str(models("plain")), str(tmp_path / "m"))
    assert failed.returncode == 3 and "already exists" in failed.stderr and "Traceback" not in failed.stderr


FAQ = PYTHON_DOCS / "faq"


def test_eval_on_the_real_faq_with_a_recall_gate(tmp_path):
    out = tmp_path / "ix"
    assert ragtune("index", str(FAQ), "--out", str(out), "--embedder", "hashing").returncode == 0
    result = ragtune("eval", str(out), "--faq", str(FAQ), "--embedder", "hashing", "--mode", "bm25", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["judged"] == summary["questions"] > 150
    assert 0.5 < summary["metrics"]["recall@10"] <= 1 and set(summary["metrics"]) >= {"ndcg@5", "mrr@10"}
    table = ragtune("eval", str(out), "--faq", str(FAQ), "--embedder", "hashing", "--min-recall", "0.999")
    assert table.returncode == 1 and "FAILED" in table.stdout and "hit_rate" in table.stdout
    # The FAQ's questions are its own headings, indexed: the figures are flagged as optimistic.
    assert any("stand verbatim in the index" in w for w in summary["warnings"])
    assert "note:" in table.stdout and "blanks the headings" in table.stdout
    # A JSONL of pairs, answers given as text and located in the indexed folder.
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "How do I make a script executable?",
                              "answer": "You need to do two things: the script file's mode must be executable"})
                  + "\n" + json.dumps({"question": "Why are default values shared?",
                                       "answer": "This type of bug commonly bites neophyte programmers."}) + "\n")
    pairs = ragtune("eval", str(out), "--qa", str(qa), "--docs", str(FAQ), "--embedder", "hashing", "--json")
    assert pairs.returncode == 0, pairs.stderr
    assert json.loads(pairs.stdout)["judged"] == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q"}\n')
    bad = ragtune("eval", str(out), "--qa", str(broken), "--embedder", "hashing")
    assert bad.returncode == 2 and "broken.jsonl:1" in bad.stderr and "Traceback" not in bad.stderr
    assert ragtune("eval", str(out)).returncode == 2


def test_raft_command_writes_valid_gorilla_records(tmp_path):
    out = tmp_path / "raft.jsonl"
    made = ragtune("raft", str(FAQ), "--faq", "--out", str(out), "--strategy", "hard", "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # Every count describes the file written: P = 0.8 holds over its rows.
    with_oracle = sum(bool(r["oracle_context"]) for r in rows)
    assert summary["valid"] and summary["examples"] == len(rows) > 140
    assert summary["report"]["kept_oracle"] == with_oracle == int(0.8 * len(rows) + 0.5)
    assert summary["report"]["examples"] == len(rows)
    for row in rows:
        normalised = [" ".join(d.split()).lower() for d in row["context"]["sentences"][0]]
        assert len(set(normalised)) == len(normalised)
    text = ragtune("raft", str(FAQ), "--faq", "--out", str(tmp_path / "again.jsonl"), "--strategy", "hard")
    assert f"oracle shown in {with_oracle} of {len(rows)}" in text.stdout
    first = rows[0]
    assert {"id", "type", "question", "context", "oracle_context", "cot_answer", "instruction"} <= set(first)
    assert "##begin_quote##" in first["cot_answer"] and "<ANSWER>:" in first["cot_answer"]
    chat = ragtune("raft", str(FAQ), "--faq", "--out", str(tmp_path / "chat.jsonl"), "--format", "chat")
    assert chat.returncode == 0 and "validation: ok" in chat.stdout
    none = ragtune("raft", str(FAQ), "--out", str(out))
    assert none.returncode == 2 and "--faq" in none.stderr


def test_advise_from_flags_and_interactively():
    flags = ragtune("advise", "--changes", "daily", "--citations", "--examples", "2000", "--style", "strict",
                    "--hallucination-cost", "high", "--json")
    assert flags.returncode == 0, flags.stderr
    rec = json.loads(flags.stdout)
    assert rec["choice"] == "hybrid" and rec["reasons"][0]["input"] == "style"
    corpus = json.loads(ragtune("advise", "--corpus", str(FAQ), "--queries-per-day", "5", "--json").stdout)
    assert corpus["choice"] == "long_context" and corpus["costs"]["long_context"] < corpus["costs"]["rag"]
    # Interactive: answers typed at the prompts (a wrong one is asked again; empty = unknown).
    answers = "\n".join(["hourly", "weekly", "yes", "50", "", "medium", "some", "", "", "", ""]) + "\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    asked = subprocess.run([sys.executable, "-m", "ragtune", "advise", "--interactive"], input=answers,
                           capture_output=True, text=True, env=env, timeout=120)
    assert asked.returncode == 0, asked.stderr
    assert "answer one of daily" in asked.stdout and "Recommendation: RAG" in asked.stdout
    bad = ragtune("advise", "--measured", "recall@5=high")
    assert bad.returncode == 2 and "NAME=VALUE" in bad.stderr
    debug = ragtune("--debug", "advise", "--measured", "recall@5=2")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
