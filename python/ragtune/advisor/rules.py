"""The advisor: each input becomes a reason with effects on the five options; the
option with the highest total wins; the margin, the unknown inputs and conflicts
between inputs set the confidence.

The rules encode the usual decision tables. Knowledge that changes, citations,
private data and large corpora call for retrieval; strict formats, tone, jargon
and tight latency call for fine-tuning; both together call for the hybrid (RAFT +
RAG); a small corpus that fits the context window at a low volume calls for long
context, priced by :mod:`ragtune.costs`; with no documents and only light style
needs, a better prompt comes first. Fine-tuning needs data: under 100 examples it
memorises, from 500 it is viable. Measurements outrank opinions: recall measured
on your data confirms or questions RAG, and good recall with poor faithfulness —
the model ignoring what was retrieved — is the case RAFT was made for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..costs import CostModel, Prices, Workload
from .recommendation import LABELS, OPTIONS, Reason, Recommendation
from .situation import UPDATES_PER_MONTH, Situation

# Inputs that most change the answer; each one left unknown lowers the confidence.
KEY_INPUTS = ("knowledge_changes", "needs_citations", "labelled_examples", "style", "corpus_tokens",
              "hallucination_cost", "latency_budget_ms", "queries_per_day")
TIE_ORDER = ("rag", "prompt_engineering", "long_context", "hybrid", "fine_tuning")  # simpler first


def _knowledge_need(s: Situation) -> bool | None:
    """Is there knowledge to bring in? None when nothing says."""
    signals = [s.knowledge_changes in ("daily", "weekly", "monthly") if s.knowledge_changes else None,
               s.needs_citations, (s.corpus_tokens or 0) > 0 if s.corpus_tokens is not None else None,
               s.private_data]
    known = [v for v in signals if v is not None]
    return any(known) if known else None


def _behaviour_need(s: Situation) -> bool | None:
    """Is there behaviour (format, tone, vocabulary, use of context) to train? None when nothing says."""
    if s.style == "strict" or s.domain_vocabulary or s.measured.get("faithfulness", 1.0) < 0.6:
        return True
    if s.style in ("none", "some") and s.domain_vocabulary is not True:
        return False
    return None


def _changes(s: Situation) -> Reason | None:
    v = s.knowledge_changes
    if v is None:
        return None
    if v in ("daily", "weekly"):
        return Reason("knowledge_changes", v, {"rag": 3, "hybrid": 2, "long_context": 1, "fine_tuning": -3},
                      "facts that change this often belong in a store you can update in minutes; weights would "
                      "need a training run for every update")
    if v == "monthly":
        return Reason("knowledge_changes", v, {"rag": 2, "hybrid": 1, "long_context": 1, "fine_tuning": -1},
                      "monthly changes mean monthly retraining if the facts live in the weights; a re-index is cheaper")
    return Reason("knowledge_changes", v, {"fine_tuning": 1},
                  "stable knowledge: what is trained in stays true, so fine-tuning is viable")


def _citations(s: Situation) -> Reason | None:
    if s.needs_citations is None:
        return None
    if s.needs_citations:
        return Reason("needs_citations", True, {"rag": 3, "hybrid": 2, "long_context": 1, "fine_tuning": -3,
                                                "prompt_engineering": -1},
                      "retrieved chunks carry their source and lines; knowledge in weights has no provenance")
    return None


def _examples(s: Situation) -> Reason | None:
    n = s.labelled_examples
    if n is None:
        return None
    if n < 100:
        return Reason("labelled_examples", n, {"fine_tuning": -4, "hybrid": -1},
                      "under 100 examples a fine-tune memorises instead of generalising (a RAFT set can still be "
                      "generated from your documents with an LLM: ragtune.raft.generate_qa)")
    if n < 500:
        return Reason("labelled_examples", n, {"fine_tuning": -2, "hybrid": -1},
                      "100-500 examples is thin for fine-tuning; 500 or more is where it becomes dependable")
    if n < 10_000:
        return Reason("labelled_examples", n, {"fine_tuning": 2, "hybrid": 2},
                      "enough high-quality examples to fine-tune")
    return Reason("labelled_examples", n, {"fine_tuning": 3, "hybrid": 2},
                  "a large labelled set: fine-tuning can learn the task thoroughly")


def _latency(s: Situation) -> Reason | None:
    budget = s.latency_budget_ms
    if budget is None:
        return None
    measured = s.measured.get("retrieval_ms")
    if budget < 200:
        effects = {"fine_tuning": 3, "rag": -2, "hybrid": -2, "long_context": -3}
        text = ("under 200 ms leaves no room for a retrieval round trip (typically 50-300 ms) or a long prompt; "
                "a fine-tuned model answers in one pass")
    elif budget < 500:
        effects = {"fine_tuning": 2, "rag": -1, "hybrid": -1, "long_context": -2}
        text = "a sub-second budget favours a single forward pass; long prompts are slow to read"
    elif budget < 1000:
        effects = {"long_context": -1}
        text = "a one-second budget fits retrieval, but reading a very long prompt is tight"
    else:
        return Reason("latency_budget_ms", budget, {}, "a budget of a second or more fits every path")
    if measured is not None and measured <= 0.25 * budget:
        effects = {k: (v / 2 if k in ("rag", "hybrid") else v) for k, v in effects.items()}
        text += f"; your measured retrieval takes {measured:g} ms, so RAG's penalty is halved"
    return Reason("latency_budget_ms", budget, effects, text)


def _hallucination(s: Situation) -> Reason | None:
    v = s.hallucination_cost
    if v is None or v == "low":
        return None
    need = _knowledge_need(s)
    if need is False:
        return Reason("hallucination_cost", v, {"fine_tuning": 1} if v == "high" else {},
                      "without facts to look up, errors are errors of format, which fine-tuning reduces")
    if v == "high":
        return Reason("hallucination_cost", v, {"rag": 2, "hybrid": 2, "long_context": 1, "fine_tuning": -2,
                                                "prompt_engineering": -2},
                      "wrong facts are costly: ground answers in retrieved text the user can check")
    return Reason("hallucination_cost", v, {"rag": 1, "hybrid": 1},
                  "grounding answers in retrieved text lowers factual errors")


def _style(s: Situation) -> Reason | None:
    v = s.style
    if v is None:
        return None
    if v == "strict":
        return Reason("style", v, {"fine_tuning": 3, "hybrid": 3, "prompt_engineering": -1, "rag": -1},
                      "an exact schema or house style is behaviour: fine-tuning bakes it in, prompts drift")
    if v == "some":
        return Reason("style", v, {"prompt_engineering": 2, "fine_tuning": 1, "hybrid": 1},
                      "moderate format or tone needs are usually met by a good system prompt with examples")
    return Reason("style", v, {"fine_tuning": -1},
                  "no behaviour to change, and fine-tuning changes behaviour, not knowledge")


def _corpus(s: Situation, costs: CostModel | None) -> list[Reason]:
    n = s.corpus_tokens
    if n is None:
        return []
    if n == 0:
        return [Reason("corpus_tokens", 0, {"prompt_engineering": 3, "fine_tuning": 1, "rag": -3, "hybrid": -2,
                                            "long_context": -3},
                       "no documents to answer from: this is not a knowledge problem")]
    fits = n + 1_000 <= s.context_window
    reasons = []
    if not fits:
        reasons.append(Reason("corpus_tokens", n, {"long_context": -10, "rag": 1, "hybrid": 1,
                                                   "prompt_engineering": -3},
                              f"{n:,} tokens do not fit a {s.context_window:,}-token window; they must be retrieved"))
    else:
        share = n / s.context_window
        reasons.append(Reason("corpus_tokens", n, {"long_context": 2 if share <= 0.8 else 1},
                              f"the whole corpus fits the context window ({share:.0%} of it): no index needed"))
    if costs is not None and s.queries_per_day is not None and fits:
        monthly = s.queries_per_day * 30
        long_cost = costs.path("long_context").monthly(monthly)
        rag_cost = costs.path("rag").monthly(monthly)
        volume = costs.break_even("long_context", "rag")
        crossing = f"; they cross at {volume / 30:,.0f} queries/day" if volume else ""
        if long_cost <= rag_cost:
            reasons.append(Reason("queries_per_day", s.queries_per_day, {"long_context": 2},
                                  f"at this volume long context costs ${long_cost:,.2f}/month against RAG's "
                                  f"${rag_cost:,.2f}{crossing}"))
        else:
            reasons.append(Reason("queries_per_day", s.queries_per_day, {"long_context": -2, "rag": 1},
                                  f"every query re-reads the corpus: long context costs ${long_cost:,.2f}/month "
                                  f"against RAG's ${rag_cost:,.2f}{crossing}"))
    if not s.needs_citations and fits and n <= 0.1 * s.context_window and s.knowledge_changes in (None, "never",
                                                                                                  "yearly"):
        reasons.append(Reason("corpus_tokens", n, {"prompt_engineering": 1},
                              "a corpus this small can live in the system prompt"))
    return reasons


def _private(s: Situation) -> Reason | None:
    if not s.private_data:
        return None
    return Reason("private_data", True, {"rag": 2, "long_context": 1, "fine_tuning": -3, "hybrid": -3},
                  "data that may not be trained on stays in a store you control and is retrieved at query time")


def _vocabulary(s: Situation) -> Reason | None:
    if not s.domain_vocabulary:
        return None
    return Reason("domain_vocabulary", True, {"fine_tuning": 2, "hybrid": 2},
                  "jargon and internal names the base model misreads are learnt by fine-tuning")


def _measurements(s: Situation) -> list[Reason]:
    reasons = []
    recalls = {int(k[7:]): v for k, v in s.measured.items() if k.startswith("recall@")}
    recall = None
    if recalls:
        k = min(recalls, key=lambda c: abs(c - 5))  # the cut-off nearest to 5 speaks for a RAG prompt
        recall = recalls[k]
        name = f"measured recall@{k}"
        if recall >= 0.8:
            reasons.append(Reason(name, recall, {"rag": 2, "hybrid": 1},
                                  "retrieval already finds the answer for most questions on your data"))
        elif recall >= 0.5:
            reasons.append(Reason(name, recall, {"rag": 0.5},
                                  "retrieval works but misses often: tune chunking and search mode before "
                                  "anything else (ragtune.evaluate.sweep)"))
        else:
            reasons.append(Reason(name, recall, {"rag": -1, "hybrid": -1, "long_context": 1},
                                  "retrieval misses most answers: fix it (chunking, hybrid search) or avoid it"))
    reasons += _answer_quality(s)
    faithful = s.measured.get("faithfulness")
    if faithful is not None:
        if faithful < 0.6 and (recall is None or recall >= 0.7):
            reasons.append(Reason("measured faithfulness", faithful, {"hybrid": 3, "rag": -1},
                                  "the right passages come back but answers stray from them: RAFT trains the "
                                  "model to use retrieved context and ignore distractors"))
        elif faithful >= 0.8:
            reasons.append(Reason("measured faithfulness", faithful, {"rag": 1},
                                  "answers stay with the retrieved text"))
    return reasons


# The advisor's option for each arm of ragtune.experiment.compare.
_ARM_OPTIONS = {"prompt": "prompt_engineering", "rag": "rag", "finetune": "fine_tuning", "raft+rag": "hybrid",
                "long_context": "long_context"}


def _answer_quality(s: Situation) -> list[Reason]:
    """Held-out answer quality per arm: an arm whose paired F1 gain over the closed-book
    base model is above zero with 95% confidence earned its option points; one that did
    not measurably help loses some. The best-scoring arm gets one more."""
    reasons = []
    scores = {arm: s.measured[f"answer_f1[{arm}]"] for arm in _ARM_OPTIONS if f"answer_f1[{arm}]" in s.measured}
    for arm, option in _ARM_OPTIONS.items():
        low = s.measured.get(f"answer_f1_gain_low[{arm}]")
        if low is None:
            continue
        name = f"measured answer F1 gain of {arm} over the base model (interval low end)"
        if low > 0:
            reasons.append(Reason(name, round(low, 4), {option: 2},
                                  f"on your held-out questions {arm} answered better than the closed-book model, "
                                  "and the paired 95% interval of the difference lies above zero"))
        else:
            reasons.append(Reason(name, round(low, 4), {option: -1},
                                  f"on your held-out questions {arm} did not measurably beat the closed-book "
                                  "model (the paired interval includes zero or lies below it)"))
    base = s.measured.get("answer_f1[base]")
    ranking = ", ".join(f"{a} {v:.3f}" for a, v in sorted({**scores, **({"base": base} if base is not None else {})}
                                                          .items(), key=lambda x: -x[1]))
    if scores and base is not None and base >= max(scores.values()):
        # Nothing beat the closed-book model: say so against every measured path, once.
        reasons.append(Reason("measured answer F1 [base]", round(base, 4), {_ARM_OPTIONS[a]: -0.5 for a in scores},
                              f"the closed-book base model scored the highest answer F1 ({ranking}): no path "
                              "improved answers with this generator; measure with the model you would deploy "
                              "before spending on any of them"))
    elif len(scores) >= 2:
        best = max(scores, key=lambda a: scores[a])
        reasons.append(Reason(f"measured answer F1 [{best}]", round(scores[best], 4), {_ARM_OPTIONS[best]: 1},
                              f"{best} scored the highest answer F1 of the arms measured ({ranking})"))
    return reasons


def _no_knowledge_for_hybrid(s: Situation) -> Reason | None:
    if _knowledge_need(s) is False:
        return Reason("knowledge need", False, {"hybrid": -2, "rag": -1},
                      "stable knowledge, no citations, no documents named: retrieval would add cost without a need")
    return None


def _no_behaviour_for_hybrid(s: Situation) -> Reason | None:
    if _behaviour_need(s) is False:
        return Reason("behaviour need", False, {"hybrid": -2},
                      "no strict format, jargon or misuse of context to train away: the fine-tuned half of a "
                      "hybrid would have little to learn")
    return None


RULES: tuple[Callable[[Situation], Reason | None], ...] = (_changes, _citations, _examples, _latency, _hallucination,
                                                          _style, _private, _vocabulary, _no_knowledge_for_hybrid,
                                                          _no_behaviour_for_hybrid)


def _conflicts(reasons: list[Reason]) -> list[str]:
    """Pairs of inputs whose strongest pulls point at each other's strongest pushes."""
    found = []
    for i, a in enumerate(reasons):
        for b in reasons[i + 1:]:
            if a.input == b.input:
                continue
            for option, pull in a.effects.items():
                if pull >= 2 and b.effect_on(option) <= -2:
                    favoured_b = max(b.effects, key=lambda o: b.effects[o], default=None)
                    if favoured_b and b.effects[favoured_b] >= 2 and a.effect_on(favoured_b) <= -2:
                        found.append(f"{a.input}={a.value!r} favours {LABELS[option]} while "
                                     f"{b.input}={b.value!r} favours {LABELS[favoured_b]}")
                        break
    return found


def _next_steps(choice: str, s: Situation, costs: CostModel | None) -> list[str]:
    steps = {
        "prompt_engineering": ["Write a system prompt with a few worked examples and test it on 20-50 real "
                               "questions before building anything else."],
        "rag": ["Index your documents: ragtune index DOCS --out my-index",
                "Answer with citations: ragtune query my-index \"a real question\""],
        "long_context": ["Put the whole corpus in the prompt (system message), with its section titles so "
                         "answers can name them."],
        "fine_tuning": ["Collect or generate the training examples (ragtune raft builds RAFT sets from documents "
                        "and question-answer pairs).",
                        "Train a LoRA adapter (PEFT), then deploy one checkpoint: ragtune merge BASE ADAPTER OUT"],
        "hybrid": ["Index the documents (ragtune index) and build a RAFT training set from them (ragtune raft).",
                   "Fine-tune a LoRA on it, merge it (ragtune merge), and serve it behind the retriever."],
    }[choice]
    if choice in ("rag", "hybrid") and not any(k.startswith("recall@") for k in s.measured):
        steps.append("Measure before you commit: ragtune eval my-index --qa pairs.jsonl (recall@5, MRR, nDCG), "
                     "then re-run the advisor with --measured recall@5=VALUE.")
    if choice in ("fine_tuning", "hybrid"):
        steps.append("Hold out a test set before training and compare against the untuned model with the same prompt.")
    if choice == "long_context" and costs is not None:
        volume = costs.break_even("long_context", "rag")
        if volume:
            steps.append(f"Revisit when volume passes {volume / 30:,.0f} queries/day: RAG is cheaper beyond it.")
    if choice == "fine_tuning" and s.knowledge_changes in ("monthly", "quarterly", "yearly"):
        steps.append("If reference facts (codes, guidelines) do change, add a RAG layer for them: that is the hybrid.")
    return steps


def advise(situation: Situation | Mapping[str, Any] | None = None, *, prices: Prices | None = None,
           **inputs: Any) -> Recommendation:
    """Recommend prompt engineering, RAG, fine-tuning, hybrid or long context, with reasons.

    Give a :class:`Situation` or its fields as keywords; unknown inputs can be left out.

    Examples
    --------
    >>> rec = advise(knowledge_changes="weekly", needs_citations=True, labelled_examples=50)
    >>> rec.choice, rec.confidence_label
    ('rag', 'medium')
    >>> [r.input for r in rec.reasons]
    ['knowledge_changes', 'needs_citations']
    >>> advise(style="strict", labelled_examples=3000, knowledge_changes="yearly", needs_citations=False).choice
    'fine_tuning'
    """
    if situation is None:
        situation = Situation(**inputs)
    elif isinstance(situation, Mapping):
        situation = Situation(**{**situation, **inputs})
    elif inputs:
        raise TypeError("give either a Situation or keyword inputs, not both")
    if not isinstance(situation, Situation):
        raise TypeError(
            f"situation must be a ragtune Situation or a dict of its fields, got {type(situation).__name__}"
        )
    s = situation

    costs = None
    if s.corpus_tokens:
        updates = UPDATES_PER_MONTH.get(s.knowledge_changes or "monthly", 1.0)
        costs = CostModel(Workload(corpus_tokens=s.corpus_tokens, context_window=s.context_window,
                                   updates_per_month=updates,
                                   training_examples=max(s.labelled_examples or 1_000, 1)), prices)

    reasons = [r for rule in RULES if (r := rule(s)) is not None]
    reasons += _corpus(s, costs) + _measurements(s)
    scores = {option: 0.0 for option in OPTIONS}
    for reason in reasons:
        for option, effect in reason.effects.items():
            scores[option] += effect
    feasible = [o for o in OPTIONS if not (o == "long_context" and costs is not None
                                           and not costs.path("long_context").feasible)]
    ranked = sorted(feasible, key=lambda o: (-scores[o], TIE_ORDER.index(o)))
    choice, second = ranked[0], ranked[1]

    conflicts = _conflicts(reasons)
    margin = scores[choice] - scores[second]
    missing = [name for name in KEY_INPUTS if getattr(s, name) is None]
    # Measurements count as evidence too: each one stands in for an unknown input.
    coverage = min(1.0, (len(KEY_INPUTS) - len(missing) + len(s.measured)) / len(KEY_INPUTS))
    confidence = (1 - math.exp(-margin / 3)) * (0.5 + 0.5 * coverage) * (0.7 if conflicts else 1.0)
    if not reasons:
        confidence = 0.0

    monthly = None
    if costs is not None and s.queries_per_day is not None:
        # Prompt engineering does not answer from a corpus, so it is not priced beside the paths that do.
        monthly = {p: c.monthly(s.queries_per_day * 30) for p, c in costs.paths().items()
                   if c.feasible and p != "prompt_engineering"}
    return Recommendation(
        choice=choice,
        confidence=round(confidence, 3),
        scores=scores,
        reasons=sorted((r for r in reasons if r.effect_on(choice) > 0), key=lambda r: -r.effect_on(choice)),
        against=sorted((r for r in reasons if r.effect_on(choice) < 0), key=lambda r: r.effect_on(choice)),
        conflicts=conflicts,
        missing=missing,
        next_steps=_next_steps(choice, s, costs),
        costs=monthly,
    )
