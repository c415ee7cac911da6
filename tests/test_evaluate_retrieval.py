"""Retrieval evaluation: metrics equal pytrec_eval's on real runs, qrels follow the
documented overlap rule, every kind of retriever is evaluated the same way."""

from __future__ import annotations

import math
import random

import matplotlib
import pytest
import pytrec_eval

from corpora import python_docs
from ragtune import Index, RecursiveChunker
from ragtune.datasets import parse_faq
from ragtune.embeddings import HashingEmbeddings
from ragtune.evaluate import (
    QAPair,
    build_qrels,
    evaluate_retriever,
    relevant_chunks,
    retrieval_metrics,
    sweep,
)

matplotlib.use("Agg")
CUTOFFS = (1, 3, 5, 10, 100)
TREC_MEASURES = {"recall.1,3,5,10,100", "P.1,3,5,10,100", "ndcg_cut.1,3,5,10,100", "success.1,3,5,10,100"}


@pytest.fixture(scope="module")
def faq():
    """The Python FAQ plus every 8th other document: (documents, chunks, pairs, index)."""
    docs = python_docs()
    documents = {name: text for n, (name, text) in enumerate(sorted(docs.items()))
                 if name.startswith("faq/") or n % 8 == 0}
    pairs = [
        p
        for name in documents
        if name.startswith("faq/")
        for p in parse_faq(documents[name], source=name)
    ]
    chunker = RecursiveChunker(chunk_size=600, chunk_overlap=60)
    chunks = [c for doc in chunker.split_many(list(documents.values()), sources=list(documents)) for c in doc]
    index = Index(embedding=HashingEmbeddings(dim=256))
    index.add(chunks)
    return documents, chunks, pairs, index


def trec_per_query(run_scores, qrels):
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, TREC_MEASURES)
    return evaluator.evaluate(run_scores)


def assert_equal_to_trec(scores, run_scores, qrels):
    trec = trec_per_query(run_scores, qrels)
    assert set(trec) == set(scores.per_query)
    for query, values in trec.items():
        ours = scores.per_query[query]
        for k in CUTOFFS:
            for mine, theirs in (("recall", "recall"), ("precision", "P"), ("ndcg", "ndcg_cut"),
                                 ("hit_rate", "success")):
                assert ours[f"{mine}@{k}"] == pytest.approx(values[f"{theirs}_{k}"], abs=1e-12), (query, mine, k)
        # MRR@k is trec_eval's recip_rank of the run cut at k (ranked as trec_eval ranks).
        ranked = sorted(sorted(run_scores[query], reverse=True), key=lambda d: -run_scores[query][d])
        for k in CUTOFFS:
            cut = {d: run_scores[query][d] for d in ranked[:k]}
            rr = pytrec_eval.RelevanceEvaluator({query: qrels[query]}, {"recip_rank"}).evaluate({query: cut})
            assert ours[f"mrr@{k}"] == pytest.approx(rr[query]["recip_rank"], abs=1e-12)
    for name, value in scores.mean.items():
        assert value == pytest.approx(sum(q[name] for q in scores.per_query.values()) / len(scores.per_query))


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_metrics_equal_pytrec_eval_on_a_real_run(faq, mode):
    documents, chunks, pairs, index = faq
    qrels = build_qrels(pairs, chunks)
    # Graded judgements: the chunk where the answer starts is worth 2 (exercises nDCG's linear gain).
    for pair in pairs:
        query = pair.id
        for chunk in relevant_chunks(pair, chunks):
            if query in qrels and chunk.start <= pair.start < chunk.end:
                qrels[query][f"{chunk.source}#{chunk.index}"] = 2
    questions = [p.question for p in pairs if p.id in qrels]
    hits = index.search_many(questions, k=100, mode=mode)
    run_scores = {p.id: {h.id: h.score for h in found} for p, found in zip([p for p in pairs if p.id in qrels], hits)}
    assert len(qrels) > 150
    scores = retrieval_metrics(run_scores, qrels, k=CUTOFFS)
    assert_equal_to_trec(scores, run_scores, qrels)
    assert 0 < scores["recall@100"] <= 1


def test_ties_missing_queries_and_edge_cases_match_trec_eval():
    rng = random.Random(7)
    docs = [f"d{n:03d}" for n in range(60)]
    qrels, run = {}, {}
    for q in range(40):
        judged = rng.sample(docs, rng.randint(1, 8))
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        # Scores drawn from 4 values: many ties, which trec_eval breaks by doc id (descending).
        run[f"q{q}"] = {d: float(rng.randint(0, 3)) for d in rng.sample(docs, rng.randint(0, 30))}
    qrels["none"] = {"d001": 0}          # judged, nothing relevant: 0 everywhere
    run["none"] = {"d001": 1.0}
    run["unjudged"] = {"d002": 1.0}      # not in the qrels: ignored
    scores = retrieval_metrics(run, qrels, k=CUTOFFS)
    assert "unjudged" not in scores.per_query
    assert_equal_to_trec(scores, {q: r for q, r in run.items() if q in qrels}, qrels)


def test_ranked_lists_and_queries_missing_from_the_run():
    qrels = {"a": {"x": 1}, "b": {"y": 1}}
    scores = retrieval_metrics({"a": ["z", "x"]}, qrels, k=[1, 2])
    assert scores.missing == ["b"]
    assert scores.per_query["b"]["recall@2"] == 0.0
    assert scores["mrr@2"] == 0.25 and scores["hit_rate@2"] == 0.5
    assert "recall@2" in repr(scores) and scores.rows()[0] == {"metric": "recall", "k": 1, "value": 0.0}
    assert list(scores.to_pandas().index) == ["a", "b"]


@pytest.mark.parametrize("run, qrels, k, error", [
    ({"a": {"x": float("nan")}}, {"a": {"x": 1}}, 5, "finite number"),
    ({"a": ["x", "x"]}, {"a": {"x": 1}}, 5, "twice"),
    ({"a": "x"}, {"a": {"x": 1}}, 5, "list of doc ids"),
    ({"a": ["x"]}, {"a": {"x": -1}}, 5, "non-negative int"),
    ({"a": ["x"]}, {"a": {"x": 1.5}}, 5, "non-negative int"),
    ({"a": ["x"]}, {}, 5, "qrels is empty"),
    ({"a": ["x"]}, {"a": {"x": 1}}, 0, "positive int"),
    ({"a": ["x"]}, {"a": {"x": 1}}, [], "positive int"),
    ([], {"a": {"x": 1}}, 5, "run must be a dict"),
    ({"a": [1]}, {"a": {"x": 1}}, 5, "non-str doc id"),
])
def test_bad_runs_and_qrels_are_refused(run, qrels, k, error):
    with pytest.raises((ValueError, TypeError), match=error):
        retrieval_metrics(run, qrels, k=k)


def test_qrels_follow_the_overlap_rule_on_the_real_faq(faq):
    documents, chunks, pairs, _ = faq
    qrels = build_qrels(pairs, chunks)
    assert len(qrels) == len(pairs)  # every FAQ answer is held by some chunk at 600/60
    by_id = {f"{c.source}#{c.index}": c for c in chunks}
    for pair in pairs:
        key_end = min(pair.end, pair.start + 300)
        for chunk_id in qrels[pair.id]:
            chunk = by_id[chunk_id]
            overlap = min(chunk.end, key_end) - max(chunk.start, pair.start)
            assert chunk.source == pair.source
            assert overlap >= 0.5 * min(key_end - pair.start, chunk.end - chunk.start)
        # the chunk where the answer starts (when it holds enough of it) is among them
        assert any(by_id[c].start <= pair.start + 150 for c in qrels[pair.id])


def test_small_chunks_inside_the_answer_are_relevant_and_text_answers_are_located():
    text = "Intro line.\n\n" + "Answer sentence number one. " * 10 + "\n\nUnrelated closing words."
    chunks = RecursiveChunker(chunk_size=60, chunk_overlap=0).split(text, source="doc")
    start = text.index("Answer")
    pair = QAPair("What?", text[start:start + 280], source="doc", start=start, end=start + 280)
    found = relevant_chunks(pair, chunks)
    assert found and all("Answer" in c.text or "number" in c.text for c in found)
    assert not any("Unrelated" in c.text or "Intro" in c.text for c in found)
    # Text-only answers: located in documents= first, then judged by offsets.
    qrels = build_qrels([QAPair("What?", text[start:start + 280])], chunks, documents={"doc": text})
    assert sorted(qrels["q0"]) == sorted(f"doc#{c.index}" for c in found)


def test_unanswerable_questions_warn_and_bad_pairs_are_refused():
    chunks = RecursiveChunker(chunk_size=50, chunk_overlap=0).split("Tea is brewed. Coffee is roasted.", source="d")
    with pytest.warns(UserWarning, match="1 of 2 questions"):
        qrels = build_qrels([QAPair("Tea?", "Tea is brewed."), QAPair("Milk?", "Milk is poured.")], chunks)
    assert list(qrels) == ["q0"]
    with pytest.raises(ValueError, match="none of the 1 answers"):
        build_qrels([QAPair("Milk?", "Milk is poured.")], chunks)
    with pytest.raises(ValueError, match="share the id"):
        build_qrels([QAPair("a", "Tea is brewed.", id="x"), QAPair("b", "Tea is brewed.", id="x")], chunks)
    with pytest.raises(ValueError, match="start and end"):
        QAPair("q", "a", source="d", start=3)
    with pytest.raises(ValueError, match="start < end"):
        QAPair("q", "a", source="d", start=4, end=4)
    with pytest.raises(ValueError, match="non-negative int"):
        QAPair("q", "a", source="d", start=-1, end=4)
    with pytest.raises(ValueError, match="give the answer"):
        QAPair("q")
    with pytest.raises(TypeError, match="not one string"):
        QAPair("q", "a", oracle_ids="d#0")
    with pytest.raises(ValueError, match="non-empty question"):
        QAPair("  ", "a")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        QAPair(b"q\xff", "a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be str"):
        QAPair(42, "a")  # type: ignore[arg-type]
    assert QAPair(b"q", "a").question == "q"


def test_every_kind_of_retriever_gives_the_same_run(faq):
    from langchain_core.documents import Document
    from langchain_core.vectorstores import InMemoryVectorStore

    from ragtune.integrations.langchain import RagtuneRetriever

    documents, chunks, pairs, index = faq
    pairs = pairs[:60]
    qrels = build_qrels(pairs, chunks)
    exact = Index(embedding=HashingEmbeddings(dim=256), exact_below=10**9)
    exact.add(chunks)
    by_index = evaluate_retriever(exact, pairs, qrels, k=[1, 5, 10], mode="dense")
    by_retriever = evaluate_retriever(RagtuneRetriever(index=exact, mode="dense"), pairs, qrels, k=[1, 5, 10])
    assert by_retriever.run == by_index.run
    # A real LangChain vector store with Documents that carry no ids: recognised by text.
    store = InMemoryVectorStore(HashingEmbeddings(dim=256))
    store.add_documents([Document(page_content=c.text, metadata={"source": c.source}) for c in chunks])
    by_langchain = evaluate_retriever(store.as_retriever(search_kwargs={"k": 10}), pairs, qrels, chunks=chunks,
                                      k=[1, 5, 10])
    agree = sum(by_langchain.run[q][:5] == by_index.run[q][:5] for q in qrels)
    assert agree >= 0.95 * len(qrels)  # both exact cosine; float summation order may swap near-ties
    assert by_langchain["recall@10"] == pytest.approx(by_index["recall@10"], abs=0.02)
    # A plain function.
    by_function = evaluate_retriever(lambda q: exact.search(q, k=10, mode="dense"), pairs, qrels, k=[1, 5, 10])
    assert by_function.run == by_index.run
    assert "queries/s" in repr(by_index)


def test_evaluate_retriever_builds_qrels_and_explains_mistakes(faq):
    documents, chunks, pairs, index = faq
    result = evaluate_retriever(index, pairs, chunks=chunks, k=[1, 10], mode="bm25")
    assert result["recall@10"] > 0.5 and result["mrr@10"] > 0.3  # BM25 on the real FAQ
    assert result.short_results == 0
    with pytest.raises(ValueError, match="give qrels"):
        evaluate_retriever(index, ["a question"], k=5)
    with pytest.raises(KeyError, match="no question"):
        evaluate_retriever(index, ["a question"], {"q0": {"x": 1}, "other": {"y": 1}}, k=5)
    with pytest.raises(ValueError, match="mode= applies"):
        evaluate_retriever(lambda q: [], ["a question"], {"q0": {"x": 1}}, mode="bm25")
    with pytest.raises(TypeError, match="retriever must be"):
        evaluate_retriever(42, ["a question"], {"q0": {"x": 1}})
    with pytest.raises(ValueError, match="has no id"):
        evaluate_retriever(lambda q: [type("Doc", (), {"page_content": "zzz", "metadata": {}})()],
                           ["a question"], {"q0": {"x": 1}}, chunks=chunks[:3])


def test_sweep_over_chunking_and_modes_on_the_real_faq(faq):
    documents, chunks, pairs, index = faq
    faq_docs = {name: text for name, text in documents.items() if name.startswith("faq/")}
    result = sweep(faq_docs, pairs, chunk_sizes=[300, 800], overlaps=[0, 0.1], k=[1, 5], modes=["bm25", "hybrid"],
                   embedding=HashingEmbeddings(dim=128), progress=False)
    assert len(result.rows) == 2 * 2 * 2 * 2
    frame = result.to_pandas()
    assert set(frame["mode"]) == {"bm25", "hybrid"} and set(frame["chunk_overlap"]) == {0, 30, 80}
    best = result.best("recall", k=5)
    assert best["recall"] == frame[frame.k == 5]["recall"].max()
    assert all(0 <= r["ndcg"] <= 1 and r["questions"] > 150 for r in result.rows)
    ax = result.plot("recall", k=5)
    assert len(ax.get_lines()) == 4 and ax.get_ylabel() == "recall@5"
    assert "best recall@5" in repr(result)
    with pytest.raises(ValueError, match="overlaps must be smaller"):
        sweep(faq_docs, pairs, chunk_sizes=[100], overlaps=[200], modes=["bm25"], progress=False)
    with pytest.raises(ValueError, match="not found verbatim"):
        sweep(faq_docs, [QAPair("q", "text that is nowhere")], modes=["bm25"], progress=False)
    assert math.isfinite(best["index_seconds"])
