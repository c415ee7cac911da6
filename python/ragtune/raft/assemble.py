"""Assembling RAFT examples from chunks and question–answer pairs.

The sampling itself runs in C++ (``_core.raft_assemble``); this module prepares
its arrays (ids, near-duplicate evidence, hard candidates from a ragtune Index),
checks every quoted span of every answer against the oracle(s), and keeps the
examples as columns (:class:`~ragtune.raft.columns.RaftColumns`).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from .. import _core
from .._gc import gc_paused
from .._inputs import as_int, as_text, as_threads
from ..chunking.chunk import Chunk, chunk_id
from ..qa import QAPair, pair_id, relevant_chunks
from .budget import TokenBudget
from .columns import RaftColumns, RaftExamples
from .formats import RaftExample
from .quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, QuoteChecks

Strategy = Literal["random", "hard", "mixed"]
QuotePolicy = Literal["drop", "flag", "off"]
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)


def QAItem(question: str, oracle_ids: Sequence[str], answer: str | None = None,  # noqa: N802 - the old class name
           cot_answer: str | None = None, id: str | None = None) -> QAPair:
    """Deprecated: RAFT takes :class:`ragtune.qa.QAPair` objects (``oracle_ids=`` and
    ``cot_answer=`` are keywords there). Returns the equivalent QAPair."""
    warnings.warn("ragtune.raft.QAItem is now ragtune.qa.QAPair: QAPair(question, answer, id=..., "
                  "oracle_ids=[...], cot_answer=...)", DeprecationWarning, stacklevel=2)
    if answer is None and cot_answer is None:
        answer = ""  # QAItem allowed neither; its chain of thought was then built from an empty answer
    return QAPair(question, answer, id=id, oracle_ids=tuple(oracle_ids), cot_answer=cot_answer)


@dataclass(slots=True)
class RaftReport:
    """What assembly did, in numbers.

    ``items`` counts the questions given and ``unmatched`` those no chunk holds (left
    out); every other count describes the examples
    returned (and so the file they are written to): quotes are checked and the token
    budget applied *before* sampling decides which examples show their oracle, so
    ``kept_oracle == round(p * examples)`` exactly.
    """

    items: int = 0
    unmatched: int = 0
    examples: int = 0
    kept_oracle: int = 0
    hard_distractors: int = 0
    random_distractors: int = 0
    near_duplicates_skipped: int = 0
    repeated_texts_skipped: int = 0
    quotes_checked: int = 0
    quotes_missing: int = 0
    dropped_for_quotes: int = 0
    flagged_for_quotes: int = 0
    missing_final_answer: int = 0
    truncated_distractors: int = 0
    dropped_for_budget: int = 0
    first_unmatched: str | None = field(default=None, repr=False, compare=False)

    def __add__(self, other: RaftReport) -> RaftReport:
        """The report of two parts of one assembly."""
        sums = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)
                if f.name != "first_unmatched"}
        return RaftReport(**sums, first_unmatched=self.first_unmatched or other.first_unmatched)


class RaftDataset:
    """Assembled examples, kept as columns (:class:`~ragtune.raft.columns.RaftColumns`),
    and the report. ``examples`` is a read-only sequence that builds each
    :class:`RaftExample` when it is indexed or iterated (to edit examples, change a
    ``list(data.examples)`` and assign it back to ``data.examples``); the writers
    (:func:`~ragtune.raft.write_jsonl`, :func:`~ragtune.raft.write_parquet`,
    :func:`~ragtune.raft.to_dataset`) encode the columns without building them.

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because."], ["a.rst"], [0], "<ANSWER>: so")
    >>> data = RaftDataset([ex])
    >>> len(data), data.examples[0] == ex
    (1, True)
    """

    __slots__ = ("columns", "report")

    def __init__(self, examples: RaftColumns | Iterable[RaftExample] = (), report: RaftReport | None = None) -> None:
        self.columns = examples if isinstance(examples, RaftColumns) else RaftColumns.from_examples(examples)
        self.report = report if report is not None else RaftReport()

    @property
    def examples(self) -> RaftExamples:
        """The examples, each built anew on access: changing one does not change the
        dataset. Assign a list of examples to replace them."""
        return RaftExamples(self.columns)

    @examples.setter
    def examples(self, examples: Iterable[RaftExample]) -> None:
        self.columns = RaftColumns.from_examples(examples)

    def __len__(self) -> int:
        return len(self.columns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RaftDataset):
            return NotImplemented
        return self.report == other.report and self.examples == list(other.examples)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        r = self.report
        return (f"RaftDataset({len(self)} examples, oracle kept in {r.kept_oracle}, "
                f"{r.hard_distractors} hard + {r.random_distractors} random distractors, "
                f"{r.dropped_for_quotes} dropped for unverified quotes)")


def cot_from_answer(answer: str) -> str:
    """A RAFT-style answer for an existing answer text (no LLM): quote its first
    sentence, then give the answer itself.

    Examples
    --------
    >>> cot_from_answer("Use py. It is installed with Python.")
    '##begin_quote##Use py.##end_quote## <ANSWER>: Use py. It is installed with Python.'
    """
    text = as_text(answer, what="answer").strip()
    match = _FIRST_SENTENCE.match(text)
    quote = (match.group(1) if match else text.split("\n")[0]).strip()
    return f"{BEGIN_QUOTE}{quote}{END_QUOTE} {ANSWER_MARKER} {' '.join(text.split())}"


def _text_hashes(texts: list[str], threads: int) -> np.ndarray:
    """A hash per text of ``" ".join(text.split()).lower()``: repeated texts, whatever
    their spacing and case, hash the same (the C++ core normalises ASCII text itself)."""
    normalised = [t if t.isascii() else " ".join(t.split()).lower() for t in texts]
    return _core.text_hashes(normalised, threads=threads)


def _titles(chunks: list[Chunk], documents: Mapping[str, str] | None) -> list[str]:
    """A real title per chunk: ``source › section (lines a-b)``, or ``source:a-b``."""
    if documents is None:
        return [c.citation() for c in chunks]
    from ..datasets import section_titles

    sections = {source: section_titles(text) for source, text in documents.items()}
    out = []
    for chunk in chunks:
        found = sections.get(chunk.source or "", [])
        position = bisect.bisect_right([offset for offset, _ in found], chunk.start) - 1
        if position < 0 and found and found[0][0] < chunk.end:
            position = 0  # the chunk opens the document: name it after its first title
        section = found[position][1] if position >= 0 else None
        lines = f"lines {chunk.line_start}-{chunk.line_end}"
        out.append(f"{chunk.source} › {section} ({lines})" if section else f"{chunk.source} ({lines})")
    return out


def _oracles(pairs: list[QAPair], chunks: list[Chunk],
             position: Mapping[str, int]) -> tuple[list[Sequence[str]], list[list[int]]]:
    """Each pair's oracle chunk ids and their positions among the chunks: those it names
    (each must be among the chunks), else the chunks that hold its answer (empty when
    none does)."""
    by_source: dict[str | None, list[Chunk]] | None = None
    ids_of: list[Sequence[str]] = []
    positions_of: list[list[int]] = []
    for n, pair in enumerate(pairs):
        if not isinstance(pair, QAPair):
            raise TypeError(f"pairs[{n}] must be a ragtune.qa.QAPair, got {type(pair).__name__}")
        ids: Sequence[str] = pair.oracle_ids
        if not ids:
            if by_source is None:
                by_source = {}
                for chunk in chunks:
                    by_source.setdefault(chunk.source, []).append(chunk)
            pool = by_source.get(pair.source, []) if pair.located else chunks
            ids = [chunk_id(c) for c in relevant_chunks(pair, pool)]
        try:
            positions_of.append([position[o] for o in ids])
        except KeyError as missing:
            raise KeyError(f"pairs[{n}] names oracle chunk {missing.args[0]!r}, which is not among the "
                           "chunks") from None
        ids_of.append(ids)
    return ids_of, positions_of


def assemble(
    chunks: Sequence[Chunk],
    pairs: Sequence[QAPair],
    *,
    distractors: int = 4,
    p: float = 0.8,
    strategy: Strategy = "random",
    index: Any = None,
    mode: Literal["dense", "bm25", "hybrid"] = "hybrid",
    candidates: int = 20,
    hard_fraction: float = 0.5,
    seed: int = 0,
    near_duplicate_jaccard: float = 0.8,
    verify_quotes: QuotePolicy = "drop",
    normalise_whitespace: bool = False,
    max_tokens: int | None = None,
    tokenizer: Any = None,
    documents: Mapping[str, str] | None = None,
    threads: int = 0,
) -> RaftDataset:
    """RAFT examples: each question with its oracle chunk(s) (in round(p·N) of the
    examples) and ``distractors`` other chunks, shuffled.

    Parameters
    ----------
    chunks : the corpus, as Chunks with sources (ids are ``source#index``)
    pairs : :class:`~ragtune.qa.QAPair` questions. Their oracle chunks are the
        ``oracle_ids`` they name, else the chunks that hold the answer
        (:func:`ragtune.qa.relevant_chunks`: by offsets when located, else by text);
        a pair no chunk holds is left out, counted in ``report.unmatched``, with a
        warning. The chain-of-thought answer is ``cot_answer``, else one quoting the
        answer's first sentence from the oracle.
    distractors : k, the distractors per example (the paper uses 4)
    p : share of examples that show their oracle (the paper recommends 0.8)
    strategy : "random", "hard" (the index's best non-oracle chunks for the question)
        or "mixed" (``hard_fraction`` of them hard)
    index : a ragtune Index holding the same chunks (needed for hard and mixed)
    verify_quotes : "drop" examples whose quotes are not verbatim in the oracle(s),
        "flag" them (``metadata["quotes_ok"] = False``), or "off"
    seed : the same seed gives the same dataset, whatever ``threads``
    documents : the full texts by source; when given, each document's title names its
        section (the reST or Markdown heading above the chunk), else its lines
    max_tokens, tokenizer : a context budget per example, counted with a Hugging Face
        tokenizer over the question, the chain-of-thought answer and every document.
        Oracles are never cut (they hold the quotes). When an example is over budget,
        its distractors are cut at token boundaries to equal shares of what remains;
        an example whose question, answer and oracles alone exceed the budget is
        dropped (counted in the report).

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> docs = ["Tea is brewed.", "Coffee is roasted.", "Milk is poured.", "Sugar is sweet.", "Salt is salty."]
    >>> chunks = [c for d in RecursiveChunker(chunk_size=50, chunk_overlap=0).split_many(
    ...     docs, sources=[f"d{i}" for i in range(5)]) for c in d]
    >>> data = assemble(chunks, [QAPair("How is tea made?", "Tea is brewed.")], distractors=2, p=1.0)
    >>> ex = data.examples[0]
    >>> len(ex.documents), ex.documents[ex.oracle_positions[0]]
    (3, 'Tea is brewed.')
    """
    pairs = list(pairs)
    distractors = as_int(distractors, name="distractors", minimum=0, maximum=1000)
    candidates = as_int(candidates, name="candidates", minimum=1, maximum=10000)
    threads = as_threads(threads)
    if verify_quotes not in ("drop", "flag", "off"):
        raise ValueError(f"verify_quotes must be 'drop', 'flag' or 'off', got {verify_quotes!r}")
    budget = token_budget(max_tokens, tokenizer)
    with gc_paused():
        return _assemble(chunks, pairs, budget, distractors=distractors, p=p, strategy=strategy, index=index,
                         mode=mode, candidates=candidates, hard_fraction=hard_fraction, seed=seed,
                         near_duplicate_jaccard=near_duplicate_jaccard, verify_quotes=verify_quotes,
                         normalise_whitespace=normalise_whitespace, documents=documents, threads=threads)


def _assemble(chunks: Sequence[Chunk], pairs: list[QAPair], budget: TokenBudget | None, *, distractors: int,
              p: float, strategy: Strategy, index: Any, mode: Literal["dense", "bm25", "hybrid"], candidates: int,
              hard_fraction: float, seed: int, near_duplicate_jaccard: float, verify_quotes: QuotePolicy,
              normalise_whitespace: bool, documents: Mapping[str, str] | None, threads: int) -> RaftDataset:
    corpus = RaftCorpus.build(chunks, documents=documents, threads=threads)
    accepted, report = prepare(corpus, pairs, verify_quotes=verify_quotes,
                               normalise_whitespace=normalise_whitespace, budget=budget, threads=threads)
    if pairs and report.unmatched == len(pairs):
        raise ValueError(f"none of the {len(pairs)} answers is held by any chunk: check that the chunks come from "
                         "the documents the answers are in (sources must match), or name oracle_ids")
    if report.unmatched:
        warnings.warn(f"{report.unmatched} of {len(pairs)} questions have no chunk holding their answer and are left "
                      f"out (first: {report.first_unmatched!r})", stacklevel=3)
    examples = sample(corpus, accepted, report, distractors=distractors, p=p, strategy=strategy, index=index,
                      mode=mode, candidates=candidates, hard_fraction=hard_fraction, seed=seed,
                      near_duplicate_jaccard=near_duplicate_jaccard, budget=budget, threads=threads)
    return RaftDataset(examples, report)


def token_budget(max_tokens: int | None, tokenizer: Any) -> TokenBudget | None:
    """The per-example token budget, or None."""
    if max_tokens is None:
        return None
    if tokenizer is None:
        raise ValueError("max_tokens needs tokenizer= (a Hugging Face tokenizer) to count tokens")
    return TokenBudget(as_int(max_tokens, name="max_tokens", minimum=1), tokenizer)


@dataclass
class RaftCorpus:
    """The chunks RAFT draws documents from, as the arrays the sampler reads: built once
    and shared by every part of an assembly (:mod:`ragtune.integrations.ray` sends one
    copy to all its workers)."""

    chunks: list[Chunk]
    ids: list[str]
    position: dict[str, int]
    texts: list[str]
    titles: list[str]
    arrays: dict[str, np.ndarray]

    @classmethod
    def build(cls, chunks: Sequence[Chunk], *, documents: Mapping[str, str] | None = None,
              threads: int = 0) -> RaftCorpus:
        chunks = list(chunks)
        if not chunks:
            raise ValueError("no chunks to draw documents from")
        ids = [chunk_id(c) for c in chunks]
        position = {id_: n for n, id_ in enumerate(ids)}
        if len(position) != len(ids):
            raise ValueError("chunk ids (source#index) repeat; give each document a distinct source")
        texts = [c.text for c in chunks]
        sources = {s: n for n, s in enumerate(dict.fromkeys(c.source for c in chunks))}
        arrays = {
            "groups": np.asarray([sources[c.source] for c in chunks], dtype=np.int64),
            "starts": np.asarray([c.start for c in chunks], dtype=np.int64),
            "ends": np.asarray([c.end for c in chunks], dtype=np.int64),
            "text_hashes": _text_hashes(texts, as_threads(threads)),
            "minhash": _core.minhash_signatures(texts, size=64, shingle=5, threads=as_threads(threads)),
        }
        return cls(chunks, ids, position, texts, _titles(chunks, documents), arrays)


@dataclass(slots=True)
class Prepared:
    """A question that passed the checks, ready to sample: its number among the pairs
    given (for default ids), oracle chunk ids (and their corpus positions),
    chain-of-thought answer and metadata."""

    number: int
    pair: QAPair
    oracle_ids: list[str]
    cot: str
    metadata: dict[str, Any]
    oracle_positions: list[int]


def prepare(corpus: RaftCorpus, pairs: Sequence[QAPair], *, verify_quotes: QuotePolicy = "drop",
            normalise_whitespace: bool = False, budget: TokenBudget | None = None,
            first_number: int = 0, threads: int = 0) -> tuple[list[Prepared], RaftReport]:
    """Find each pair's oracles, check its quotes and fit its budget: the questions that
    become examples, and the report's counts so far. ``first_number`` numbers the pairs
    when they are a part of a larger list."""
    pairs = list(pairs)
    oracles_of, positions_of = _oracles(pairs, corpus.chunks, corpus.position)
    report = RaftReport(items=len(pairs), unmatched=sum(not o for o in oracles_of))
    report.first_unmatched = next((p.question for p, o in zip(pairs, oracles_of) if not o), None)
    # Quotes and the budget decide which questions become examples *before* sampling
    # decides which examples show their oracle, so P holds over what is written.
    rows = [n for n, oracle_ids in enumerate(oracles_of) if oracle_ids]
    cots = [pairs[n].cot_answer if pairs[n].cot_answer is not None else cot_from_answer(pairs[n].answer or "")
            for n in rows]
    oracle_positions = [positions_of[n] for n in rows]
    ok = flagged = None
    if verify_quotes != "off":
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(o) for o in oracle_positions], out=offsets[1:])
        checks = QuoteChecks.run(cots, corpus.texts, offsets,
                                 np.fromiter(itertools.chain.from_iterable(oracle_positions), np.int64, offsets[-1]),
                                 normalise_whitespace=normalise_whitespace, threads=threads)
        ok = checks.ok
        counted = ok if verify_quotes == "drop" else np.ones(len(rows), dtype=bool)
        report.dropped_for_quotes += int((~ok).sum()) if verify_quotes == "drop" else 0
        report.quotes_checked += int(checks.quote_counts[counted].sum())
        report.quotes_missing += int(checks.missing_counts[counted].sum())
        report.missing_final_answer += int((checks.has_answer[counted] == 0).sum())
        flagged = ~ok if verify_quotes == "flag" else None
        report.flagged_for_quotes += int(flagged.sum()) if flagged is not None else 0
    accepted: list[Prepared] = []
    for k, n in enumerate(rows):
        if verify_quotes == "drop" and not ok[k]:
            continue
        item, cot, oracle_ids = pairs[n], cots[k], oracles_of[n]
        metadata: dict[str, Any] = {"oracle_ids": list(oracle_ids)}
        if flagged is not None and flagged[k]:
            metadata["quotes_ok"] = False
        if budget is not None and not budget.fits_fixed(item.question, cot, [corpus.texts[i]
                                                                            for i in oracle_positions[k]]):
            report.dropped_for_budget += 1
            continue
        accepted.append(Prepared(first_number + n, item, oracle_ids, cot, metadata, oracle_positions[k]))
    return accepted, report


def sample(corpus: RaftCorpus, accepted: Sequence[Prepared], report: RaftReport, *, distractors: int = 4,
           p: float = 0.8, strategy: Strategy = "random", index: Any = None,
           mode: Literal["dense", "bm25", "hybrid"] = "hybrid", candidates: int = 20, hard_fraction: float = 0.5,
           seed: int = 0, near_duplicate_jaccard: float = 0.8, budget: TokenBudget | None = None, threads: int = 0,
           first_position: int | None = None, total: int | None = None) -> RaftColumns:
    """Draw the documents of each accepted question (C++) and return the examples as columns, adding
    the sampler's counts to ``report``. With ``first_position`` and ``total``, the
    questions are ``total``'s accepted questions from ``first_position`` on, and get the
    very examples the whole set would give them."""
    accepted = list(accepted)
    oracle_offsets, oracle_positions = [0], []
    for prepared in accepted:
        oracle_positions.extend(prepared.oracle_positions)
        oracle_offsets.append(len(oracle_positions))
    hard: dict[str, Any] = {}
    if strategy in ("hard", "mixed"):
        if index is None:
            raise ValueError(f"strategy={strategy!r} needs index=: a ragtune Index holding these chunks")
        questions = [prepared.pair.question for prepared in accepted]
        ranked = index.search_many(questions, k=candidates, mode=mode) if questions else []
        offsets, flat = [0], []
        for hits in ranked:
            flat.extend(corpus.position[h.id] for h in hits if h.id in corpus.position)
            offsets.append(len(flat))
        hard = {"candidate_offsets": np.asarray(offsets, dtype=np.int64),
                "candidate_ids": np.asarray(flat, dtype=np.int64)}
    if first_position is not None:
        if first_position < 0 or (total is not None and total < first_position + len(accepted)):
            raise ValueError(f"questions {first_position}..{first_position + len(accepted)} do not lie in a set of "
                             f"{total}")
        hard["positions"] = np.arange(first_position, first_position + len(accepted), dtype=np.int64)
        hard["total"] = int(total if total is not None else first_position + len(accepted))
    out = _core.raft_assemble(
        len(corpus.chunks), np.asarray(oracle_offsets, dtype=np.int64), np.asarray(oracle_positions, dtype=np.int64),
        **corpus.arrays, distractors=distractors, p=float(p), strategy=strategy, hard_fraction=float(hard_fraction),
        seed=int(seed), near_duplicate_jaccard=float(near_duplicate_jaccard), threads=as_threads(threads), **hard,
    )
    report.kept_oracle += int(out["kept_oracle"].sum())
    report.hard_distractors += out["hard_used"]
    report.random_distractors += out["random_used"]
    report.near_duplicates_skipped += out["near_duplicates_skipped"]
    report.repeated_texts_skipped += out["repeated_texts_skipped"]
    metadata = [prepared.metadata for prepared in accepted]
    columns = RaftColumns(corpus.texts, corpus.titles, [pair_id(a.pair, a.number) for a in accepted],
                          ["general"] * len(accepted), [a.pair.question for a in accepted],
                          [a.cot for a in accepted], out["document_offsets"], out["documents"],
                          out["oracle_position_offsets"], out["oracle_positions"], metadata)
    if budget is not None:
        columns = _fit_budget(columns, budget, report)
    report.examples += len(columns)
    return columns


def _fit_budget(columns: RaftColumns, budget: TokenBudget, report: RaftReport) -> RaftColumns:
    """Cut each example's distractors to the budget; a cut text joins the pool (the
    corpus texts are shared and never changed)."""
    texts, titles, documents = list(columns.texts), list(columns.titles), columns.documents.copy()
    for row in range(len(columns)):
        example = columns.example(row)
        cut = budget.fit(example)
        assert cut is not None, "the uncuttable part was checked against the budget above"
        report.truncated_distractors += cut
        first = int(columns.document_offsets[row])
        for position, text in enumerate(example.documents):
            original = int(documents[first + position])
            if text is not texts[original]:
                documents[first + position] = len(texts)
                texts.append(text)
                titles.append(titles[original])
    return RaftColumns(texts, titles, columns.ids, columns.types, columns.questions, columns.cot_answers,
                       columns.document_offsets, documents, columns.oracle_offsets, columns.oracle_positions,
                       columns.metadata)
