"""Continuous batching for greedy answers on a local model.

`model.generate` on a batch runs until its longest answer is done: rows that finished early still ride along, and
a batch of eight short answers waits for the one that runs to max_new_tokens. Here a fixed number of slots
decode together, one forward pass a step for all of them; a row that finishes leaves at once and the next prompt
takes its slot. Decoding on a CPU is bound by reading the weights once a step, so sharing steps among more live
rows is where the time goes.

- A new prompt is prefilled after the longest prefix (MIN_PREFIX tokens or more) it shares with a recently
  prefilled prompt (`_prefix`: a question's rag and hybrid-rag prompts often begin with the same passages).
- Where the model attends through `lab.generation.attention` (the bfloat16 backend), a prompt that comes while
  rows decode is prefilled in the same forward pass as their next step (`_fold`): the pass reads the weights once
  for both, so the step costs little more than its own attention.
- The batch's key/value cache lives in preallocated buffers (`_Batch`): a step writes its columns in place, a new
  prompt takes a finished row's slot in place; the buffers are copied only when they fill up or rows leave for good.

Each answer is greedy: at every step its own next-token logits go through `choose` (the citation mask, then the
argmax), exactly as in `model.generate`; only the floating-point order of a batched matrix multiply differs.
Its time is its own prefill plus its share of each step it was in (the step's wall time / the rows in it; a
folded pass's time is shared by its tokens, the prompt's and one a row).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


# Rows draft (lookup > 0) only while this few decode together: a step then costs about the weights' reading
# whatever its width, so drafts ride free; with more rows the wider pass costs more than the drafts save (measured
# on 32 sample questions x prompt, rag, hybrid-rag in 8 slots, bf16: 113 s drafting in every step, 98 s never).
LOOKUP_ROWS = 4
# Tokens a drafting step feeds in all (rows x (1 + drafts)): a pass of up to ~16 tokens costs about the weights'
# reading, wider ones more (bf16, 800 cached tokens a row: 3 rows x 11 tokens 133 ms, 3 x 4 90 ms, 1 x 11 86 ms).
STEP_TOKENS = 16

# Free columns a batch's key/value buffers are allocated with: one copy of the cache every this many steps.
HEADROOM = 64
# Prompts whose prefill is kept: a new prompt prefills only what follows its longest common prefix (at least
# MIN_PREFIX tokens) with one of them. A question's RAG and hybrid-RAG prompts often share their first passages
# (with the system prompt: 26% of the sample comparison's base-model prompt tokens). A prefill after a prefix
# attends under an explicit mask, slower than a causal one (500 tokens after 200: 727 ms, 500 alone: 678 ms, all
# 700: 887 ms in bf16), so a prefix as short as the system prompt alone is not worth it.
PREFIXES = 4
MIN_PREFIX = 128


@dataclass
class _Row:
    index: int
    prompt_length: int
    tokens: list[int] = field(default_factory=list)
    seconds: float = 0.0


def supported(cache) -> bool:
    """Whether a prefill's cache can be merged row by row: every layer a plain growing key/value pair (sliding
    windows and other layouts go through `model.generate` instead)."""
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer).__name__ == "DynamicLayer" for layer in layers)


class Unsupported(Exception):
    """The model's cache cannot be merged row by row; nothing was reported done."""


def greedy(model, prompts: Sequence[Sequence[int]], max_new_tokens: int, slots: int,
           choose: Callable[[int, list[int], object], int], finished: Callable[[int, list[int]], bool],
           done: Callable[[int, list[int], float], None], lookup: int = 0) -> None:
    """Decode every prompt (token ids) greedily, `slots` rows at a time.

    choose(i, tokens, logits) -> the next token of prompt i given its tokens so far and its next-token logits;
    finished(i, tokens) -> whether prompt i's answer is complete (its end token, an answer end);
    done(i, tokens, seconds) is called as each answer completes (not in prompt order): its generated tokens and
    its share of the wall time. An exception from a callback stops the run (a cancel).

    lookup > 0: while at most LOOKUP_ROWS rows decode, each also drafts up to that many tokens from its own text
    (`draft`, prompt lookup; fewer where the step would feed more than STEP_TOKENS) and the step checks them in
    the same pass; a drafted token is kept only where it is
    the token `choose` picks anyway, so the answer is the greedy one (up to the floating-point order of the wider
    pass). Rejected drafts stay in the cache, masked out."""
    import torch

    from lab.generation import attention

    device = next(model.parameters()).device
    queue = deque(range(len(prompts)))
    kept: deque[tuple[list[int], object]] = deque(maxlen=PREFIXES)  # recent prompts and their prefilled caches
    rows: list[_Row | None] = []  # by slot; None: its answer is done and no prompt has taken the slot yet
    batch = _Batch()
    folds = attention.installed(model)
    while queue or any(rows):
        new: list[tuple[_Row, object]] = []
        while queue and sum(row is not None for row in rows) + len(new) < slots:
            index = queue.popleft()
            row = _Row(index, len(prompts[index]))
            start = time.perf_counter()
            ids = list(prompts[row.index])
            cache, reused = _prefix(kept, ids)
            if folds and any(rows):  # the rows decoding take their step in the prefill's pass
                cache, logits, stepped = _fold(model, batch, rows, ids, reused, cache, device)
            else:
                with torch.inference_mode():
                    out = model(input_ids=torch.tensor([ids[reused:]], device=device), past_key_values=cache,
                                position_ids=torch.arange(reused, len(ids), device=device)[None], use_cache=True,
                                logits_to_keep=1)
                cache, logits, stepped = out.past_key_values, out.logits[0, -1], None
            if not supported(cache):
                if any(rows) or new:
                    raise RuntimeError("the model's cache layout changed between prompts")
                raise Unsupported(type(cache).__name__)
            kept.append((ids, cache))
            row.tokens.append(choose(row.index, row.tokens, logits))
            seconds = time.perf_counter() - start
            row.seconds = seconds
            if stepped is not None:  # the pass's time shared by its tokens: the prompt's and one a row
                live = [b for b, other in enumerate(rows) if other is not None]
                per_token = seconds / (len(ids) - reused + len(live))
                row.seconds = per_token * (len(ids) - reused)
                for b in live:
                    other = rows[b]
                    other.tokens.append(choose(other.index, other.tokens, stepped[b]))
                    other.seconds += per_token
                    if finished(other.index, other.tokens) or len(other.tokens) >= max_new_tokens:
                        done(other.index, other.tokens, other.seconds)
                        rows[b] = None
            free = [b for b, other in enumerate(rows) if other is None]
            if finished(row.index, row.tokens) or len(row.tokens) >= max_new_tokens:
                done(row.index, row.tokens, row.seconds)
            elif free and batch.place(free[0], cache):
                rows[free[0]] = row
            else:
                new.append((row, cache))
        free = [b for b, row in enumerate(rows) if row is None]
        if free or new:  # slots left empty, or rows that did not fit a slot in place: one copy of the cache
            keep = [b for b, row in enumerate(rows) if row is not None]
            batch.rebuild(keep, [cache for _, cache in new], HEADROOM)
            rows = [rows[b] for b in keep] + [row for row, _ in new]
        if not rows:
            continue
        start = time.perf_counter()
        size = min(lookup, STEP_TOKENS // len(rows) - 1) if len(rows) <= LOOKUP_ROWS else 0
        drafts = [draft(list(prompts[r.index]) + r.tokens, min(size, max_new_tokens - len(r.tokens) - 1))
                  for r in rows]
        width = 1 + max(len(d) for d in drafts)  # tokens each row feeds this step: its last, its drafts, filler
        mask = batch.open(torch.tensor([[True] * (1 + len(d)) + [False] * (width - 1 - len(d)) for d in drafts],
                                       device=device))
        inputs = torch.tensor([[r.tokens[-1], *d] + [r.tokens[-1]] * (width - 1 - len(d))
                               for r, d in zip(rows, drafts)], device=device)
        positions = torch.tensor([[r.prompt_length + len(r.tokens) - 1 + j for j in range(width)] for r in rows],
                                 device=device)
        with torch.inference_mode():
            out = model(input_ids=inputs, attention_mask=mask, position_ids=positions, past_key_values=batch.cache,
                        use_cache=True, logits_to_keep=width)
        logits = out.logits[:, -width:]
        ended = []
        for b, (row, drafted) in enumerate(zip(rows, drafts)):
            for j in range(len(drafted) + 1):
                row.tokens.append(choose(row.index, row.tokens, logits[b, j]))
                over = finished(row.index, row.tokens) or len(row.tokens) >= max_new_tokens
                if over or j == len(drafted) or row.tokens[-1] != drafted[j]:
                    break
            ended.append(over)
            batch.close(b, j + 1)  # from the first draft greedy decoding did not take, and the filler
        batch.used += width
        share = (time.perf_counter() - start) / len(rows)
        for b, row in enumerate(rows):
            row.seconds += share
            if ended[b]:
                done(row.index, row.tokens, row.seconds)
                rows[b] = None


def _fold(model, batch: "_Batch", rows: list, ids: list[int], reused: int, cache, device):
    """Prefill `ids` after its first `reused` tokens (cached in `cache`, or None) and take one decoding step for
    the batch's rows (a slot without a row feeds filler, masked out), in one forward pass: the step's weights are
    read once for both, so the step costs little more than its attention. Returns the prompt's cache, its
    next-token logits, and each slot's next-token logits [slots, vocab]."""
    import torch
    from transformers import DynamicCache

    from lab.generation import attention

    prompt = cache if cache is not None else DynamicCache()
    n = len(ids) - reused
    mask = batch.open(torch.tensor([[row is not None] for row in rows], device=device))
    last = [row.tokens[-1] if row else ids[-1] for row in rows]
    positions = [row.prompt_length + len(row.tokens) - 1 if row else 0 for row in rows]
    inputs = torch.tensor([ids[reused:] + last], device=device)
    position_ids = torch.tensor([list(range(reused, len(ids))) + positions], device=device)
    keep = torch.arange(n - 1, n + len(rows), device=device)
    packed = _Packed(prompt, batch, n)
    fold = attention.Fold(n, attention.Fold.after(reused, n, device), batch.layers, mask)
    with attention.folded(fold), torch.inference_mode():
        out = model(input_ids=inputs, position_ids=position_ids, past_key_values=packed, use_cache=True,
                    attention_mask=mask[:1], logits_to_keep=keep)
    batch.used += 1
    return prompt, out.logits[0, 0], out.logits[0, 1:]


class _Packed:
    """The cache of a folded pass (`_fold`): of each layer's new keys and values, the prompt's go to its own cache
    (returned for its attention) and each row's to its column of the batch's buffers."""

    def __init__(self, prompt, batch: "_Batch", n: int):
        self.prompt, self.batch, self.n = prompt, batch, n

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        layer, at, n = self.batch.layers[layer_idx], self.batch.used, self.n
        layer.keys[:, :, at] = key_states[0, :, n:].transpose(0, 1)
        layer.values[:, :, at] = value_states[0, :, n:].transpose(0, 1)
        return self.prompt.update(key_states[:, :, :n].contiguous(), value_states[:, :, :n].contiguous(),
                                  layer_idx)


def _prefix(kept, ids: list[int]):
    """A cache holding the longest prefix `ids` shares with a kept prompt (leaving at least its last token to
    prefill), and its length; (None, 0) where no kept prompt shares MIN_PREFIX tokens."""
    best, source = 0, None
    for other, cache in kept:
        shared = common_prefix(other, ids)
        if shared > best:
            best, source = shared, cache
    best = min(best, len(ids) - 1)
    if best < MIN_PREFIX:
        return None, 0
    from transformers import DynamicCache

    cache = DynamicCache()
    for n, layer in enumerate(source.layers):
        cache.update(layer.keys[:, :, :best], layer.values[:, :, :best], n)
    return cache, best


def common_prefix(one: Sequence[int], other: Sequence[int]) -> int:
    """How many leading tokens two prompts share.

    >>> common_prefix([1, 2, 3, 4], [1, 2, 5]), common_prefix([1], [2]), common_prefix([1, 2], [1, 2, 3])
    (2, 0, 2)
    """
    shared = 0
    for a, b in zip(one, other):
        if a != b:
            break
        shared += 1
    return shared


def draft(ids: list[int], size: int, ngram: int = 2) -> list[int]:
    """Up to `size` tokens that followed the first earlier occurrence of the last `ngram` tokens of `ids` (or of
    fewer): what an answer that copies its prompt will likely say next.

    >>> draft([5, 6, 7, 8, 9, 6, 7], 2), draft([1, 2, 3], 2), draft([4, 4], 3, ngram=1)
    ([8, 9], [], [4])
    """
    if size <= 0:
        return []
    for n in range(min(ngram, len(ids) - 1), 0, -1):
        tail = ids[-n:]
        for start in range(len(ids) - n):
            if ids[start:start + n] == tail:
                return ids[start + n:start + n + size]
    return []


class _Layer:
    """One layer's keys and values for the whole batch, [rows, key/value heads, capacity, head dim]: a step writes
    its new columns in place and attention reads the whole buffer under the batch's mask (a `torch.cat` a step,
    as a growing cache does, copied all of it every step: a third of a decoding step at 16 rows of ~900 tokens)."""

    is_sliding = False
    is_compileable = False
    is_initialized = True

    def __init__(self, batch: "_Batch", keys, values):
        self.batch, self.keys, self.values = batch, keys, values

    def update(self, key_states, value_states, *args, **kwargs):
        at = self.batch.used
        self.keys[:, :, at:at + key_states.shape[-2]] = key_states
        self.values[:, :, at:at + value_states.shape[-2]] = value_states
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.batch.used

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[-2], 0

    def get_max_length(self) -> int:
        return -1


class _Batch:
    """The decoding rows' key/value cache in preallocated buffers (`_Layer`) and which columns each row attends to.

    Rows are right-aligned: every row's latest token sits in column `used` - 1, a shorter prompt is left-padded
    (masked; the buffers start as zeros). A finished row's slot takes the next prompt in place (`place`), so the
    other rows are not copied; the buffers are rebuilt (one copy, without the leading columns no row attends to)
    only when they are full, when a prompt is longer than the columns before `used`, or when rows leave for good."""

    def __init__(self):
        from transformers import DynamicCache

        self.cache = DynamicCache()
        self.cache.layers = self.layers = []
        self.mask = None  # bool [rows, capacity]: which columns each row attends to
        self.used = 0

    def rebuild(self, keep: list[int], new: list, room: int) -> None:
        """Buffers holding the rows `keep` (in that order), then the prefilled caches `new`, and `room` free
        columns."""
        import torch

        lengths = [cache.layers[0].keys.shape[-2] for cache in new]
        if keep:
            index = torch.tensor(keep, device=self.mask.device)
            mask = self.mask.index_select(0, index)[:, :self.used]
            first = int(mask.any(dim=0).nonzero()[0][0])
            kept = self.used - first
        else:
            kept = 0
        width = max([kept, *lengths])
        capacity, rows = width + room, len(keep) + len(new)
        sources = self.layers if keep else new[0].layers if new else []
        layers = []
        for n, source in enumerate(sources):
            buffers = []
            for name in ("keys", "values"):
                sample = getattr(source, name)
                buffer = sample.new_zeros((rows, sample.shape[1], capacity, sample.shape[3]))
                if keep:
                    buffer[:len(keep), :, width - kept:width] = getattr(self.layers[n], name).index_select(
                        0, index)[:, :, first:self.used]
                for j, cache in enumerate(new):
                    buffer[len(keep) + j, :, width - lengths[j]:width] = getattr(cache.layers[n], name)[0]
                buffers.append(buffer)
            layers.append(_Layer(self, *buffers))
        if rows:
            device = (self.mask if keep else new[0].layers[0].keys).device
            self.mask = torch.zeros((rows, capacity), dtype=torch.bool, device=device)
            if keep:
                self.mask[:len(keep), width - kept:width] = mask[:, first:]
            for j, length in enumerate(lengths):
                self.mask[len(keep) + j, width - length:width] = True
        else:
            self.mask = None
        self.layers[:] = layers
        self.used = width

    def place(self, slot: int, cache) -> bool:
        """Put a prefilled row in a finished row's slot, its prompt ending at `used`; False where it is longer
        than the columns before `used` (it then needs a rebuild)."""
        length = cache.layers[0].keys.shape[-2]
        if length > self.used:
            return False
        for layer, source in zip(self.layers, cache.layers):
            layer.keys[slot, :, self.used - length:self.used] = source.keys[0]
            layer.values[slot, :, self.used - length:self.used] = source.values[0]
        self.mask[slot] = False
        self.mask[slot, self.used - length:self.used] = True
        return True

    def open(self, valid):
        """The step's attention mask, [rows, 1, width, capacity], for `valid` [rows, width] new columns at
        `used` (a row's own token and drafts; filler is not valid); new columns see the earlier new columns."""
        import torch

        rows, width = valid.shape
        if self.used + width > self.mask.shape[1]:
            self.rebuild(list(range(rows)), [], HEADROOM + width)
        self.mask[:, self.used:self.used + width] = valid
        mask = self.mask[:, None, None, :]
        if width == 1:
            return mask
        mask = mask.expand(rows, 1, width, self.mask.shape[1]).clone()
        later = torch.ones((width, width), dtype=torch.bool, device=valid.device).triu(1)
        mask[:, 0, :, self.used:self.used + width] &= ~later
        return mask

    def close(self, row: int, kept: int) -> None:
        """Mask out a row's new columns after its first `kept` (drafts greedy decoding did not take, filler)."""
        self.mask[row, self.used + kept:] = False
