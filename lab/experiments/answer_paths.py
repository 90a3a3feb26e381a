"""The comparison paths: plain functions in one registry, `PATHS`, that also declares each path's roles.

A path *prepares* an answer: it retrieves (or not), builds the messages with the shared template
(`lab.generation.prompts`) and says which adapter generates (None = base model). Generation is one shared
step, so every path uses the same model and decoding settings, and a batch run can generate
many prepared answers at once.

| path         | model        | retrieval                          |
|--------------|--------------|------------------------------------|
| prompt       | base         | none                               |
| rag          | base         | dense top-k                        |
| hybrid-rag   | base         | dense + BM25 -> RRF (-> rerank)    |
| finetuned    | base + LoRA  | none                               |
| hybrid       | base + LoRA  | as hybrid-rag                      |
| agentic-rag  | base         | as hybrid-rag, when and with the query the model decides (`lab.experiments.agentic`) |
| agentic-hybrid | base + LoRA | as agentic-rag, the adapter deciding and answering |

An OpenAI-compatible endpoint (`lab.generation.endpoint`, `PathContext.endpoint`) runs beside the local model:
every path also exists as `<path>@endpoint`, which retrieves exactly as its local twin and generates on the
endpoint, so one run can put a hosted or vLLM-served model next to the local one on the same questions and
chunks. `finetuned@endpoint` and `hybrid@endpoint` ask for the adapter by the name the server gives it
(`PathContext.endpoint_adapter`: vLLM's `--lora-modules NAME=DIR`, or a merged model's own name). The five path
ids above keep their meaning (always the local model).

Which path retrieves, which uses the adapter and which can run on an endpoint is declared once, in its
`PathSpec`; the rest of the lab asks `retrieves(name)` and `uses_adapter(name)`, which read a `...@endpoint`
id as its local twin:

>>> retrieves("rag@endpoint"), retrieves("finetuned"), uses_adapter("hybrid"), uses_adapter("hybrid-rag")
(True, False, True, False)
>>> available_paths(adapter=False)
['prompt', 'rag', 'hybrid-rag', 'agentic-rag']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from lab.config import DecodingConfig, RetrievalConfig
from lab.corpus.chunking import with_context
from lab.errors import InputError, LabError, PathUnavailable
from lab.evaluation.answer_format import SAMPLE, AnswerFormat
from lab.generation import prompts
from lab.generation.models import Generation, Generator
from lab.index.retrieval import Hit, Retriever

ENDPOINT = "@endpoint"
_NO_REMOTE_ADAPTER = ("needs the name the endpoint serves the adapter under (vLLM: --enable-lora --lora-modules "
                      "NAME=DIR; a merged model: its own name): give it on the Models page or as --endpoint-adapter "
                      "NAME.")


@dataclass
class PathContext:
    generator: Generator | None  # the local model (None when only endpoint paths run)
    retriever: Retriever | None = None  # dense retrieval over the active collection (naive RAG)
    hybrid: Retriever | None = None  # dense + BM25 fused, optionally reranked (production RAG)
    k: int = RetrievalConfig.k
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    adapter: str | None = None  # name of a LoRA adapter loaded on the generator
    endpoint: Generator | None = None  # an OpenAI-compatible endpoint for the `...@endpoint` paths
    continuous: bool = True  # greedy answers decode by continuous batching; False: fixed batches (the old way)
    passage_context: bool = RetrievalConfig.passage_context  # each passage shown after its title and heading
    endpoint_adapter: str | None = None  # the adapter's name on the endpoint (finetuned@endpoint, hybrid@endpoint)
    answer_format: AnswerFormat = SAMPLE  # what format compliance is scored against (the adapter's schema)
    remote: bool = False  # set while an `...@endpoint` path prepares: an agentic path decides on the endpoint


@dataclass
class Answer:
    path: str
    question: str
    text: str = ""
    hits: list[Hit] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)  # retrieve, rerank, generate, total
    tokens_in: int = 0
    tokens_out: int = 0
    messages: list[dict] = field(default_factory=list)
    model: str = ""
    adapter: str | None = None
    error: str | None = None
    tokens_estimated: bool = False  # the endpoint reported no usage: token counts are estimates
    agent: dict | None = None  # an agentic path's decisions (searched, queries, steps, their time and tokens)


def _retrieve(answer: Answer, retriever: Retriever, k: int) -> Answer:
    start = time.perf_counter()
    answer.hits = retriever.search(answer.question, k)
    elapsed = (time.perf_counter() - start) * 1000
    rerank = getattr(retriever, "last_timings", {}).get("rerank_ms", 0.0)
    answer.latency_ms["retrieve"] = elapsed - rerank
    if rerank:
        answer.latency_ms["rerank"] = rerank
    return answer


def _needs_adapter(ctx: PathContext, name: str) -> str:
    if not ctx.adapter:
        raise PathUnavailable(f"{name} needs a LoRA adapter: load or train one on the Models page "
                              "(or pass --adapter DIR).")
    return ctx.adapter


def prompt_path(question: str, ctx: PathContext) -> Answer:
    """The base model with no retrieval: the prompt-engineering baseline."""
    return Answer("prompt", question)


def rag_path(question: str, ctx: PathContext) -> Answer:
    """Naive RAG: dense top-k chunks numbered into the prompt."""
    if ctx.retriever is None:
        raise PathUnavailable("rag needs an index: ingest a corpus and choose its collection.")
    return _retrieve(Answer("rag", question), ctx.retriever, ctx.k)


def hybrid_rag_path(question: str, ctx: PathContext) -> Answer:
    """Production RAG: dense + BM25 candidates fused by RRF, reranked when a cross-encoder is loaded."""
    if ctx.hybrid is None:
        raise PathUnavailable("hybrid-rag needs an index: ingest a corpus and choose its collection.")
    return _retrieve(Answer("hybrid-rag", question), ctx.hybrid, ctx.k)


def finetuned_path(question: str, ctx: PathContext) -> Answer:
    """The LoRA adapter with no retrieval: behaviour (and whatever knowledge) baked into weights."""
    return Answer("finetuned", question, adapter=_needs_adapter(ctx, "finetuned"))


def hybrid_path(question: str, ctx: PathContext) -> Answer:
    """Both: the adapter answers from hybrid-retrieved chunks (the guide's production pattern)."""
    adapter = _needs_adapter(ctx, "hybrid")
    if ctx.hybrid is None:
        raise PathUnavailable("hybrid needs an index: ingest a corpus and choose its collection.")
    answer = _retrieve(Answer("hybrid", question), ctx.hybrid, ctx.k)
    answer.adapter = adapter
    return answer


def _agentic(name: str, question: str, ctx: PathContext, adapter: str | None) -> Answer:
    from lab.experiments.agentic import run_agent

    hits, record = run_agent(question, ctx.hybrid, ctx.k, ctx.endpoint if ctx.remote else ctx.generator, adapter,
                             ctx.remote)
    answer = Answer(name, question, hits=hits, adapter=adapter, agent=record)
    answer.latency_ms["decide"] = record["decide_ms"]
    answer.latency_ms["retrieve"] = record["retrieve_ms"]
    return answer


def agentic_rag_path(question: str, ctx: PathContext) -> Answer:
    """Agentic RAG: the base model decides whether to search (hybrid retrieval) and with which query, then answers
    from what it found."""
    return _agentic("agentic-rag", question, ctx, None)


def agentic_hybrid_path(question: str, ctx: PathContext) -> Answer:
    """Agentic RAG with the adapter: the fine-tuned model decides and answers."""
    return _agentic("agentic-hybrid", question, ctx, _needs_adapter(ctx, "agentic-hybrid"))


@dataclass(frozen=True)
class PathSpec:
    """A path and its roles, declared once."""

    name: str
    run: Callable[[str, PathContext], Answer]  # prepares the answer: retrieval, adapter choice
    retrieves: bool  # reads the index at question time (needs a collection; its build is a cost of the path)
    uses_adapter: bool  # answers with LoRA adapter weights (needs one; its training is a cost of the path)
    endpoint_ok: bool  # also runs as `<name>@endpoint` on an OpenAI-compatible endpoint
    chosen: bool = True  # selected by default on the Compare page (an agentic path costs a decision per question)


PATHS: dict[str, PathSpec] = {spec.name: spec for spec in (
    PathSpec("prompt", prompt_path, retrieves=False, uses_adapter=False, endpoint_ok=True),
    PathSpec("rag", rag_path, retrieves=True, uses_adapter=False, endpoint_ok=True),
    PathSpec("hybrid-rag", hybrid_rag_path, retrieves=True, uses_adapter=False, endpoint_ok=True),
    PathSpec("finetuned", finetuned_path, retrieves=False, uses_adapter=True, endpoint_ok=True),
    PathSpec("hybrid", hybrid_path, retrieves=True, uses_adapter=True, endpoint_ok=True),
    PathSpec("agentic-rag", agentic_rag_path, retrieves=True, uses_adapter=False, endpoint_ok=True, chosen=False),
    PathSpec("agentic-hybrid", agentic_hybrid_path, retrieves=True, uses_adapter=True, endpoint_ok=True,
             chosen=False),
)}


def is_endpoint_path(name: str) -> bool:
    return name.endswith(ENDPOINT)


def _spec(name: str) -> PathSpec | None:
    """The spec of a path id, `...@endpoint` ids by their local twin; None for an id the registry does not
    know (a path of an older lab in a stored run: it has no roles)."""
    return PATHS.get(name.removesuffix(ENDPOINT))


def retrieves(name: str) -> bool:
    """Whether the path reads the index: retrieves("hybrid-rag@endpoint") -> True."""
    spec = _spec(name)
    return spec is not None and spec.retrieves


def uses_adapter(name: str) -> bool:
    """Whether the path answers with the LoRA adapter's weights: uses_adapter("finetuned") -> True."""
    spec = _spec(name)
    return spec is not None and spec.uses_adapter


def available_paths(endpoint: bool = False, adapter: bool = True) -> list[str]:
    """The path ids a run can use: the local ones (without those that need an adapter when `adapter` is
    False), plus the endpoint twins of those an endpoint can run when `endpoint` is True."""
    local = [name for name, spec in PATHS.items() if adapter or not spec.uses_adapter]
    return local + ([name + ENDPOINT for name, spec in PATHS.items() if spec.endpoint_ok] if endpoint else [])


def default_paths(adapter: bool = True) -> list[str]:
    """The paths selected before the user chooses: the five that answer once per question.

    >>> default_paths(adapter=False)
    ['prompt', 'rag', 'hybrid-rag']
    """
    return [name for name in available_paths(adapter=adapter) if PATHS[name].chosen]


def parse_paths(text: str) -> list[str]:
    """Comma-separated path ids: parse_paths("prompt, rag@endpoint") -> ['prompt', 'rag@endpoint']."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in available_paths(endpoint=True)]
    if unknown or not names:
        raise InputError(f"Unknown path(s) {', '.join(unknown) or '(none given)'}: choose from "
                         f"{', '.join(available_paths(endpoint=True))}.")
    return names


def passage_text(hit: Hit, context: bool) -> str:
    """What the model reads of a retrieved chunk: its text, or with `context` its text after a line naming its
    document title and nearest heading (those it does not already start with), as the index reads it.

    >>> hit = Hit("c1", "guide.pdf", "Set max_conn to 512.", 1.0, heading="4.2 Limits", title="Halyard Guide")
    >>> passage_text(hit, False), passage_text(hit, True)
    ('Set max_conn to 512.', 'Halyard Guide — 4.2 Limits\\nSet max_conn to 512.')
    """
    return with_context(hit.text, hit.title, hit.heading) if context else hit.text


def prepare(name: str, question: str, ctx: PathContext) -> Answer:
    """Retrieve and build the messages; a path that cannot run comes back with its reason in `error`."""
    if not question.strip():
        raise InputError("The question is empty: type a question.")
    start = time.perf_counter()
    spec = PATHS[name.removesuffix(ENDPOINT)]
    try:
        if is_endpoint_path(name) and ctx.endpoint is None:
            raise PathUnavailable(f"{name} needs an OpenAI-compatible endpoint: set one on the Models page (or pass "
                                  "--endpoint-url and --endpoint-model).")
        if is_endpoint_path(name) and spec.uses_adapter and not ctx.endpoint_adapter:
            raise PathUnavailable(f"{name} {_NO_REMOTE_ADAPTER}")
        answer = spec.run(question, replace(ctx, adapter=ctx.endpoint_adapter, remote=True)
                          if is_endpoint_path(name) else ctx)
    except LabError as exc:
        return Answer(name, question, error=str(exc))
    answer.path = name
    answer.messages = prompts.chat(question, [(h.source, passage_text(h, ctx.passage_context)) for h in answer.hits])
    answer.latency_ms["prepare"] = (time.perf_counter() - start) * 1000
    return answer


def generate(answers: list[Answer], ctx: PathContext, finished: Callable[[str, int], None] | None = None,
             arrived: Callable[[Answer], None] | None = None) -> list[Answer]:
    """Generate every prepared answer: those that run on the same model with the same adapter go in one call, so
    a question's prompt, rag and hybrid-rag answers decode together (continuous batching, `ctx.continuous`; with
    fixed batches, one call a path, since a fixed batch pads every prompt to its longest). Each answer's generate
    time is its own share of that call (`Generation.seconds`). As each answer is final (those that could not be
    prepared first), `arrived(answer)` is called with it (a batch run stores it then) and `finished(path, 1)` for
    progress; an exception from either stops the call (a cancel)."""
    def final(answer: Answer) -> None:
        if answer.error is None:
            answer.latency_ms["total"] = sum(v for k, v in answer.latency_ms.items() if k != "prepare")
        answer.latency_ms.pop("prepare", None)
        if arrived:
            arrived(answer)
        if finished:
            finished(answer.path, 1)

    groups: dict[tuple[bool | str, str | None], list[Answer]] = {}
    for answer in answers:
        if answer.error is None:  # fixed batches pad every prompt to the longest: one path a batch, as before
            weights = is_endpoint_path(answer.path) if ctx.continuous else answer.path
            groups.setdefault((weights, answer.adapter), []).append(answer)
        else:
            final(answer)
    for (_, adapter), group in groups.items():
        extra = {"adapter": adapter} if adapter else {}
        generator = ctx.endpoint if is_endpoint_path(group[0].path) else ctx.generator
        reported: set[int] = set()

        def each(i: int, generation: Generation | None = None, group=group, reported=reported,
                 generator=generator) -> None:
            if generation is None:  # a generator that does not pass its answer: applied when the call returns
                return
            reported.add(i)
            _apply(group[i], generation, generator)
            final(group[i])

        try:
            if generator is None:
                raise PathUnavailable(f"{group[0].path} needs a local model: load one on the Models page.")
            generations = generator.generate([a.messages for a in group], ctx.decoding, continuous=ctx.continuous,
                                             each=each, **extra)
        except LabError as exc:
            for i, answer in enumerate(group):
                if i not in reported:
                    answer.error = str(exc)
                    final(answer)
            continue
        for i, (answer, generation) in enumerate(zip(group, generations)):
            if i not in reported:
                _apply(answer, generation, generator)
                final(answer)
    return answers


def _apply(answer: Answer, generation, generator) -> None:
    answer.model = generator.name
    if generation.error:
        answer.error = generation.error
        return
    answer.text = generation.text
    answer.tokens_in, answer.tokens_out = generation.tokens_in, generation.tokens_out
    if answer.agent:  # its decisions are part of what the answer cost
        answer.tokens_in += answer.agent["decide_tokens_in"]
        answer.tokens_out += answer.agent["decide_tokens_out"]
    answer.tokens_estimated = generation.tokens_estimated
    answer.latency_ms["generate"] = generation.seconds * 1000


def run_paths(names: Sequence[str], question: str, ctx: PathContext,
              finished: Callable[[str, int], None] | None = None) -> list[Answer]:
    """One question through several paths: every path retrieves first, then they generate (those on the local model
    together). `finished(path, 1)` as each path is done, for progress."""
    return generate([prepare(name, question, ctx) for name in names], ctx, finished)


def run_path(name: str, question: str, ctx: PathContext) -> Answer:
    """Prepare and generate one answer."""
    return generate([prepare(name, question, ctx)], ctx)[0]
