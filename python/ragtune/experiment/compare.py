"""``compare``: base, prompting, RAG, fine-tuning and RAFT+RAG answering the same
held-out questions of your data, scored alike, with the evidence to choose.

The steps, each cached under ``out`` so a rerun skips what is done:

1. Locate every answer in the documents and split the pairs by source (no test
   answer's document is trained on). Blank FAQ questions out of the indexed text.
2. Chunk and index all documents (as a deployment would); retrieve for every test
   question and score the retrieval (recall@k, MRR@k).
3. Train what the arms need on the train split only: a LoRA adapter on its Q/A pairs
   (``finetune``) and one on RAFT examples built from them (``raft+rag``).
4. Generate every arm's answers (greedy, timed) and score them: token F1 and exact
   match against the gold answer, grounding in the context shown, optional judge
   metrics; bootstrap intervals and paired differences in :class:`Comparison`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._files import read_json, write_json_atomically
from .._inputs import as_int
from ..qa import QAPair, locate_answers
from .arms import Arm, ArmInput, final_answer, resolve_arms
from .comparison import ArmResult, Comparison
from .corpus import blank_questions
from .generation import ChatModelGenerator, LocalGenerator
from .scores import exact_match, token_f1
from .split import SplitBy, split_pairs

DEFAULT_ARMS = ("base", "prompt", "rag", "finetune", "raft+rag")
_SETTINGS = "experiment.json"


def _documents(documents: Any) -> dict[str, str]:
    if isinstance(documents, Mapping):
        out = {}
        for source, text in documents.items():
            if not isinstance(source, str) or not isinstance(text, str):
                raise TypeError("documents must map source names (str) to texts (str)")
            out[source] = text
    elif isinstance(documents, (str, os.PathLike)) or (isinstance(documents, Sequence) and documents
                                                       and all(isinstance(d, (str, os.PathLike)) for d in documents)):
        from ..cli.files import documents_by_source

        folders = [documents] if isinstance(documents, (str, os.PathLike)) else list(documents)
        out = documents_by_source([str(f) for f in folders], follow_links=False)
    else:
        raise TypeError("documents must be {source: text} or one or more folders of documents")
    if not out or not any(t.strip() for t in out.values()):
        raise ValueError("no documents to answer from")
    return out


def _pairs(qa: Any, documents: Mapping[str, str]) -> list[QAPair]:
    if isinstance(qa, (str, os.PathLike)):
        from ..cli.qa_input import read_qa_jsonl

        qa = read_qa_jsonl(qa)
    pairs = list(qa)
    for n, pair in enumerate(pairs):
        if not isinstance(pair, QAPair):
            raise TypeError(f"qa[{n}] must be a QAPair (ragtune.qa.QAPair), got {type(pair).__name__}")
    located = locate_answers(pairs, documents)
    missing = [p for p in located if not p.located or p.source not in documents]
    if missing:
        shown = "; ".join(repr(p.question) for p in missing[:3])
        raise ValueError(f"{len(missing)} of {len(pairs)} answers are not found in any document (e.g. {shown}); "
                         "each answer must be a passage of the documents so that its source is known")
    ids = [p.id or f"q{n}" for n, p in enumerate(located)]
    if len(set(ids)) != len(ids):
        raise ValueError("question ids repeat; give each QAPair a distinct id (or none)")
    return [p if p.id else replace(p, id=i) for p, i in zip(located, ids)]


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def _check_settings(out: Path | None, settings: dict[str, Any]) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / _SETTINGS
    if path.is_file():
        previous = read_json(path, what="experiment settings")
        if previous != settings:
            changed = [k for k in sorted(set(previous) | set(settings)) if previous.get(k) != settings.get(k)]
            raise ValueError(f"{out} holds an experiment with other settings ({', '.join(changed[:5])}); use a new "
                             "folder, or the same settings to resume it")
    else:
        write_json_atomically(path, settings)


def _load_generator(generator: Any, chat_template: Any, device: Any, threads: int, max_new_tokens: int,
                    batch_size: int) -> tuple[Path | None, Any]:
    """(local model folder or None, a factory making generators with an optional adapter)."""
    if generator is not None and not isinstance(generator, (str, os.PathLike)):
        chat = ChatModelGenerator(generator)
        return None, lambda adapter=None: chat
    from ..finetune.model import check_base, load_tokenizer
    from ..finetune.render import PromptRenderer

    if generator is None:
        from ..datasets import smollm2_checkpoint

        generator = smollm2_checkpoint()
    folder = check_base(generator)
    PromptRenderer(load_tokenizer(folder), chat_template=chat_template)  # no template: refused before any work
    cache: dict[Any, LocalGenerator] = {}

    def make(adapter: Path | None = None) -> LocalGenerator:
        if adapter not in cache:
            cache.clear()  # one model in memory at a time
            cache[adapter] = LocalGenerator(folder, adapter=adapter, device=device, chat_template=chat_template,
                                            threads=threads, max_new_tokens=max_new_tokens, batch_size=batch_size)
        return cache[adapter]

    return folder, make


def compare(
    documents: Any,
    qa: Any,
    *,
    generator: Any = None,
    arms: Sequence[str] = DEFAULT_ARMS,
    test_fraction: float = 0.2,
    split_by: SplitBy = "source",
    k: int = 4,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    embedding: Any = None,
    search_mode: str = "hybrid",
    blank_faq_questions: bool = True,
    few_shot: int = 3,
    finetune_options: Mapping[str, Any] | None = None,
    raft_options: Mapping[str, Any] | None = None,
    judge: Any = None,
    max_new_tokens: int = 128,
    batch_size: int = 8,
    max_test_questions: int | None = None,
    queries_per_month: float = 10_000,
    chat_template: Any = None,
    device: Any = "auto",
    threads: int = 0,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Comparison:
    """Run the head-to-head experiment and return its :class:`Comparison`.

    Parameters
    ----------
    documents : ``{source: text}`` or folder(s) of documents
    qa : :class:`~ragtune.qa.QAPair` objects (e.g. from ``parse_faq``) or a JSONL
        file of ``{"question", "answer"}``; every answer must be a passage of the documents
    generator : a local causal LM folder (default SmolLM2-135M-Instruct) or any LangChain
        chat model; the training arms need a local model and are reported as not run otherwise
    arms : any of ``base``, ``prompt``, ``rag``, ``finetune``, ``raft+rag``, ``long_context``
        (or arms added with :func:`~ragtune.experiment.register_arm`)
    test_fraction, split_by : the held-out share, split by answer source (or by pair)
    k, chunk_size, chunk_overlap, embedding, search_mode : the RAG arms' retrieval
        (``embedding=None`` is MiniLM). ``chunk_size=None`` sizes chunks to the embedder's
        window (``RecursiveChunker.for_embedder``); a number is in characters
    blank_faq_questions : remove each question's own text (an FAQ heading) from what
        is indexed, so retrieval cannot match a question to its heading
    few_shot : train-split examples the ``prompt`` arm shows
    finetune_options, raft_options : keywords for ``train_lora`` (both arms) and
        ``raft.assemble`` (the RAFT arm)
    judge : a ragtune Judge for faithfulness and answer relevancy (optional)
    max_test_questions : score only the first N test questions (a small budget)
    queries_per_month : the volume the monthly costs are given for
    out : a folder for adapters, answers and settings; a rerun resumes from it

    Examples
    --------
    >>> from ragtune.datasets import parse_faq
    >>> from ragtune.evaluate import pairs_from_faq
    >>> docs = {p.name: p.read_text() for p in faq_folder.glob("*.rst.txt")}      # doctest: +SKIP
    >>> pairs = [q for name, text in docs.items()
    ...          for q in pairs_from_faq(parse_faq(text, source=name))]                 # doctest: +SKIP
    >>> result = compare(docs, pairs, out="faq-experiment")                       # doctest: +SKIP
    >>> result.to_pandas(); result.plot(); result.recommend()                     # doctest: +SKIP
    """
    started = time.perf_counter()
    chosen = resolve_arms(arms)
    k = as_int(k, name="k", minimum=1, maximum=100)
    few_shot = as_int(few_shot, name="few_shot", minimum=0, maximum=64)
    if max_test_questions is not None:
        max_test_questions = as_int(max_test_questions, name="max_test_questions", minimum=1)
    docs = _documents(documents)
    pairs = _pairs(qa, docs)
    train, test = split_pairs(pairs, test_fraction=test_fraction, by=split_by, seed=seed)
    test = test[:max_test_questions] if max_test_questions else test
    folder, make_generator = _load_generator(generator, chat_template, device, threads, max_new_tokens, batch_size)
    settings = {"arms": [a.name for a in chosen], "test_fraction": test_fraction, "split_by": split_by, "k": k,
                "chunk_size": chunk_size, "chunk_overlap": chunk_overlap, "search_mode": search_mode,
                "blank_faq_questions": blank_faq_questions, "few_shot": few_shot, "seed": seed,
                "max_new_tokens": max_new_tokens, "generator": str(folder) if folder else repr(generator),
                "finetune_options": dict(finetune_options or {}), "raft_options": dict(raft_options or {}),
                "embedding": type(embedding).__name__ if embedding is not None else "MiniLMEmbeddings",
                "data": _fingerprint([[p.id, p.question, p.answer, p.source] for p in pairs] + sorted(docs))}
    out_path = Path(out) if out is not None else None
    _check_settings(out_path, settings)

    from .pipeline import Pipeline

    pipeline = Pipeline(docs, train, test, settings=settings, embedding=embedding, out=out_path, progress=progress,
                        threads=threads)
    notes = []
    if blank_faq_questions:
        pipeline.documents, blanked = blank_questions(docs, pairs)
        if blanked:
            notes.append(f"{blanked} questions were blanked out of the indexed documents (their own headings), so "
                         "retrieval cannot find an answer by its question's text")
    retrieval = pipeline.retrieve(k=k, chunk_size=chunk_size, chunk_overlap=chunk_overlap, mode=search_mode)

    results = []
    for arm in chosen:
        results.append(_run_arm(arm, pipeline, folder, make_generator, few_shot=few_shot,
                                finetune_options=finetune_options or {}, raft_options=raft_options or {},
                                judge=judge, seed=seed, notes=notes))
    return Comparison(arms=results, retrieval=retrieval, train_questions=len(train), test_questions=len(test),
                      split={"train": [p.id for p in train], "test": [p.id for p in test],
                             "train_sources": sorted({p.source for p in train}),
                             "test_sources": sorted({p.source for p in test})},
                      settings=settings, notes=notes, queries_per_month=queries_per_month,
                      corpus_tokens=pipeline.corpus_tokens(folder), context_window=pipeline.context_window(folder),
                      seconds=time.perf_counter() - started, out=out_path)


def _run_arm(arm: Arm, pipeline: Any, folder: Path | None, make_generator: Any, *, few_shot: int,
             finetune_options: Mapping[str, Any], raft_options: Mapping[str, Any], judge: Any, seed: int,
             notes: list[str]) -> ArmResult:
    if arm.adapter is not None and folder is None:
        exported = pipeline.export_training_data(arm.adapter, raft_options=raft_options, seed=seed)
        notes.append(f"{arm.name} was not run: training needs a local model; its training data is in {exported}")
        return ArmResult(arm.name, arm.description, ran=False, training_data=str(exported) if exported else None)
    if arm.context == "corpus" and not pipeline.fits_window(folder):
        notes.append(f"{arm.name} was not run: the corpus does not fit the model's context window")
        return ArmResult(arm.name, arm.description, ran=False)
    adapter, training = None, {}
    if arm.adapter is not None:
        adapter, training = pipeline.train(arm.adapter, folder, finetune_options=finetune_options,
                                           raft_options=raft_options, seed=seed)
    cached = pipeline.cached_answers(arm.name)
    if cached is None:
        inputs = [ArmInput(p.question, pipeline.contexts_for(arm, p), pipeline.examples(few_shot))
                  for p in pipeline.test_pairs]
        generations = make_generator(adapter).generate([arm.messages(i) for i in inputs],
                                                       progress=pipeline.progress)
        cached = [{"id": p.id, "question": p.question, "gold": p.answer, "answer": g.text,
                   "final": final_answer(g.text), "seconds": g.seconds, "new_tokens": g.new_tokens,
                   "prompt_tokens": g.prompt_tokens, "contexts": i.contexts if arm.context == "retrieved" else []}
                  for p, g, i in zip(pipeline.test_pairs, generations, inputs)]
        pipeline.store_answers(arm.name, cached)
    rows = []
    for row in tqdm(cached, desc=f"scoring {arm.name}", unit="answer", disable=not pipeline.progress):
        scores = {"f1": token_f1(row["final"], row["gold"]), "exact_match": exact_match(row["final"], row["gold"])}
        if arm.context != "none":
            from ..evaluate.grounding import grounding_score

            contexts = row["contexts"] or pipeline.contexts_for(arm, QAPair(row["question"], row["gold"]))
            grounded = float(grounding_score(row["answer"], contexts))
            scores["grounding"] = grounded if grounded == grounded else 0.0  # an empty answer grounds nothing
            if judge is not None:
                from ..evaluate.answers import faithfulness

                scores["faithfulness"] = faithfulness(row["question"], row["final"], contexts, judge=judge)
        if judge is not None:
            from ..evaluate.answers import answer_relevancy

            scores["answer_relevancy"] = answer_relevancy(row["question"], row["final"], judge=judge)
        rows.append(row | {"scores": scores})
    return ArmResult(arm.name, arm.description, ran=True, rows=rows, adapter=str(adapter) if adapter else None,
                     training=training, context=arm.context)


__all__ = ["DEFAULT_ARMS", "compare"]
