"""Agentic RAG: the model decides whether to search and with which query, over at most a few steps; then it
answers with the shared template from what its searches found (or from nothing), so its answer differs from the
other paths only in what was retrieved.

Local models decide through a plain-text protocol in the shared template family (`lab.generation.prompts.
agent_messages`: reply `SEARCH: <query>` or `ANSWER`); an endpoint through the OpenAI tools API (a
`search_documents` function the model may call). Each answer records its decisions in `Answer.agent`:

    {"searched": 1.0, "queries": ["halyardd port"], "steps": 2, "decisions": ["SEARCH: halyardd port", "ANSWER"],
     "decide_ms": 812.0, "decide_tokens_in": 301, "decide_tokens_out": 9}

and their time is the answer's `decide` latency (counted in its total), their tokens part of its tokens (so its
cost). The passages are the best `k` of all its searches, by each search's rank.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from lab.config import DecodingConfig
from lab.errors import LabError, PathUnavailable
from lab.generation import prompts

MAX_STEPS = 3  # decisions per question: a search, a second search, then it must answer
DECIDE = DecodingConfig(max_new_tokens=32)
TOOL_SYSTEM = ("You answer questions, and you can search a documentation collection with the search_documents "
               "tool. Call it when answering needs facts from the documentation; answer directly when general "
               "knowledge is enough or the passages found already hold the answer.")


def run_agent(question: str, retriever, k: int, generator, adapter: str | None, remote: bool) -> tuple[list, dict]:
    """The decisions for one question: (hits, the record of decisions). `generator` decides: a local model by the
    plain-text protocol, an endpoint (`remote`) by the tools API."""
    if retriever is None:
        raise PathUnavailable("agentic RAG needs an index: ingest a corpus and choose its collection.")
    if generator is None:
        raise PathUnavailable("agentic RAG needs a model to decide: load one on the Models page.")
    record = {"searched": 0.0, "queries": [], "steps": 0, "decisions": [], "decide_ms": 0.0,
              "decide_tokens_in": 0, "decide_tokens_out": 0, "retrieve_ms": 0.0}
    ranked: dict[str, tuple[int, object]] = {}  # chunk id -> (best rank over the searches, hit)
    conversation = _start(question, remote)
    for _ in range(MAX_STEPS):
        record["steps"] += 1
        query, said, generation = _decide(conversation, question, ranked, generator, adapter, remote)
        record["decisions"].append(said)
        record["decide_ms"] += generation.seconds * 1000
        record["decide_tokens_in"] += generation.tokens_in
        record["decide_tokens_out"] += generation.tokens_out
        if generation.error:
            raise LabError(f"agentic RAG could not decide: {generation.error}")
        if query is None or query in record["queries"]:
            break
        record["queries"].append(query)
        record["searched"] = 1.0
        start = time.perf_counter()
        hits = retriever.search(query, k)
        record["retrieve_ms"] += (time.perf_counter() - start) * 1000
        for rank, hit in enumerate(hits):
            if hit.id not in ranked or rank < ranked[hit.id][0]:
                ranked[hit.id] = (rank, hit)
        if remote:
            _tool_result(conversation, query, hits)
    best = sorted(ranked.values(), key=lambda pair: pair[0])[:k]
    return [hit for _, hit in best], record


def _start(question: str, remote: bool) -> list[dict]:
    if not remote:
        return []
    return [{"role": "system", "content": TOOL_SYSTEM}, {"role": "user", "content": f"Question: {question.strip()}"}]


def _decide(conversation: list[dict], question: str, ranked: dict, generator, adapter, remote: bool):
    """(query or None, what the model said, its generation) for one decision."""
    if remote:
        generation, calls = generator.tool_call(conversation, [prompts.SEARCH_TOOL], DECIDE, adapter)
        searches = [c for c in calls if c["name"] == prompts.SEARCH_TOOL["function"]["name"]
                    and isinstance(c["arguments"].get("query"), str) and c["arguments"]["query"].strip()]
        if not searches:
            return None, (generation.text.strip()[:200] or "(answered)"), generation
        call = searches[0]
        conversation.append({"role": "assistant", "content": generation.text or None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": call["name"],
                                                               "arguments": json.dumps(call["arguments"])}}]})
        query = call["arguments"]["query"].strip()[:200]
        return query, f"search_documents({query!r})", generation
    found = [(hit.source, hit.text) for _, hit in sorted(ranked.values(), key=lambda pair: pair[0])]
    extra = {"adapter": adapter} if adapter else {}
    generation = generator.generate([prompts.agent_messages(question, found)], DECIDE, **extra)[0]
    said = generation.text.strip()
    return prompts.parse_decision(said), said[:200], generation


def _tool_result(conversation: list[dict], query: str, hits) -> None:
    call_id = conversation[-1]["tool_calls"][0]["id"]
    text = "\n\n".join(f"[{i}] source: {h.source}\n{h.text.strip()}" for i, h in enumerate(hits, 1)) or "(nothing)"
    conversation.append({"role": "tool", "tool_call_id": call_id, "content": text})


def retrieve_rates(records) -> dict:
    """How an agentic path decided, per question kind: the share of answers that searched over all questions,
    over those whose gold needs the corpus (gold sources given) and over general ones (none), each with its
    Wilson 95% interval; hit@k of its own queries where it searched; its decision time and steps."""
    from lab.evaluation.stats import mean_ci, wilson_ci

    done = [r for r in records if r.error is None and r.agent]
    needed = [r for r in done if r.agent.get("needs_corpus")]
    general = [r for r in done if not r.agent.get("needs_corpus")]

    def rate(rows) -> dict:
        if not rows:
            return {"n": 0, "rate": None, "low": None, "high": None}
        estimate = wilson_ci(sum(1 for r in rows if r.agent.get("searched")), len(rows))
        return {"n": len(rows), "rate": float(estimate.mean), "low": float(estimate.low), "high": float(estimate.high)}

    hits = [r.hit_at_k for r in done if r.agent.get("searched") and r.hit_at_k is not None]
    return {"all": rate(done), "needs_corpus": rate(needed), "general": rate(general),
            "hit_at_k": asdict(mean_ci(hits)) if hits else None,
            "decide_ms_mean": sum(r.agent.get("decide_ms", 0.0) for r in done) / len(done) if done else None,
            "steps_mean": sum(r.agent.get("steps", 0) for r in done) / len(done) if done else None}


def by_path(records) -> dict[str, dict]:
    """`retrieve_rates` for each agentic path of a run, in the order the paths first appear."""
    paths = list(dict.fromkeys(r.path for r in records if r.agent))
    return {path: retrieve_rates([r for r in records if r.path == path]) for path in paths}


def describe(path: str, rates: dict) -> str:
    """One line a stakeholder reads: how often the path searched, per question kind, with 95% intervals.

    >>> describe("agentic-rag", {"all": {"n": 20, "rate": 0.5, "low": 0.3, "high": 0.7},
    ...     "needs_corpus": {"n": 10, "rate": 0.8, "low": 0.49, "high": 0.94},
    ...     "general": {"n": 10, "rate": 0.2, "low": 0.06, "high": 0.51},
    ...     "hit_at_k": {"mean": 0.75, "low": 0.38, "high": 1.0, "n": 8}, "decide_ms_mean": 410.0, "steps_mean": 1.6})
    ... # doctest: +NORMALIZE_WHITESPACE
    'agentic-rag searched on 50% of 20 questions [30%, 70%]: 80% of the 10 whose gold needs the corpus [49%, 94%],
    20% of the 10 general ones [6%, 51%]; its own queries found a gold source in 75% [38%, 100%] of its searches;
    deciding took 410 ms and 1.6 steps a question'
    """
    every, needed, general = rates["all"], rates["needs_corpus"], rates["general"]
    if not every["n"]:
        return f"{path} answered no question"
    text = f"{path} searched on {every['rate']:.0%} of {every['n']} questions [{every['low']:.0%}, {every['high']:.0%}]"
    kinds = []
    if needed["n"]:
        kinds.append(f"{needed['rate']:.0%} of the {needed['n']} whose gold needs the corpus "
                     f"[{needed['low']:.0%}, {needed['high']:.0%}]")
    if general["n"]:
        kinds.append(f"{general['rate']:.0%} of the {general['n']} general ones "
                     f"[{general['low']:.0%}, {general['high']:.0%}]")
    if kinds:
        text += ": " + ", ".join(kinds)
    hit = rates.get("hit_at_k")
    if hit:
        text += (f"; its own queries found a gold source in {hit['mean']:.0%} [{hit['low']:.0%}, {hit['high']:.0%}] "
                 "of its searches")
    if rates.get("decide_ms_mean") is not None:
        text += f"; deciding took {rates['decide_ms_mean']:.0f} ms and {rates['steps_mean']:.1f} steps a question"
    return text
