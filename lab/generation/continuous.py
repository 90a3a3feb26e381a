"""Continuous batching for greedy answers on a local model.

`model.generate` on a batch runs until its longest answer is done: rows that finished early still ride along, and
a batch of eight short answers waits for the one that runs to max_new_tokens. Here a fixed number of slots
decode together, one forward pass a step for all of them; a row that finishes leaves at once and the next prompt
takes its place (prefilled on its own, then merged into the batch's key/value cache, left-padded). Decoding on a
CPU is bound by reading the weights once a step, so sharing steps among more live rows is where the time goes.

Each answer is greedy: at every step its own next-token logits go through `choose` (the citation mask, then the
argmax), exactly as in `model.generate`; only the floating-point order of a batched matrix multiply differs.
Its time is its own prefill plus its share of each step it was in (the step's wall time / the rows in it).
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
    (`draft`, prompt lookup) and the step checks them in the same pass; a drafted token is kept only where it is
    the token `choose` picks anyway, so the answer is the greedy one (up to the floating-point order of the wider
    pass). Rejected drafts stay in the cache, masked out."""
    import torch

    device = next(model.parameters()).device
    queue = deque(range(len(prompts)))
    rows: list[_Row] = []
    cache, mask = None, None
    while queue or rows:
        admitted = []
        while queue and len(rows) + len(admitted) < slots:
            index = queue.popleft()
            row = _Row(index, len(prompts[index]))
            start = time.perf_counter()
            with torch.inference_mode():
                out = model(input_ids=torch.tensor([list(prompts[row.index])], device=device), use_cache=True,
                            logits_to_keep=1)
            if not supported(out.past_key_values):
                if rows or admitted:
                    raise RuntimeError("the model's cache layout changed between prompts")
                raise Unsupported(type(out.past_key_values).__name__)
            row.tokens.append(choose(row.index, row.tokens, out.logits[0, -1]))
            row.seconds = time.perf_counter() - start
            if finished(row.index, row.tokens) or len(row.tokens) >= max_new_tokens:
                done(row.index, row.tokens, row.seconds)
            else:
                admitted.append((row, out.past_key_values))
        if admitted:
            cache, mask = _merge(cache, mask, [c for _, c in admitted], device)
            rows += [r for r, _ in admitted]
        if not rows:
            continue
        start = time.perf_counter()
        drafts = [draft(list(prompts[r.index]) + r.tokens, min(lookup, max_new_tokens - len(r.tokens) - 1))
                  if lookup and len(rows) <= LOOKUP_ROWS else [] for r in rows]
        width = 1 + max(len(d) for d in drafts)  # tokens each row feeds this step: its last, its drafts, filler
        columns = mask.shape[1]
        mask = torch.cat([mask, torch.tensor([[1] * (1 + len(d)) + [0] * (width - 1 - len(d)) for d in drafts],
                                             dtype=mask.dtype, device=device)], dim=1)
        inputs = torch.tensor([[r.tokens[-1], *d] + [r.tokens[-1]] * (width - 1 - len(d))
                               for r, d in zip(rows, drafts)], device=device)
        positions = torch.tensor([[r.prompt_length + len(r.tokens) - 1 + j for j in range(width)] for r in rows],
                                 device=device)
        with torch.inference_mode():
            out = model(input_ids=inputs, attention_mask=mask, position_ids=positions, past_key_values=cache,
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
            mask[b, columns + j + 1:] = 0  # from the first draft greedy decoding did not take, and the filler
        share = (time.perf_counter() - start) / len(rows)
        keep = []
        for b, row in enumerate(rows):
            row.seconds += share
            if ended[b]:
                done(row.index, row.tokens, row.seconds)
            else:
                keep.append(b)
        if len(keep) < len(rows):
            rows = [rows[b] for b in keep]
            cache, mask = _select(cache, mask, keep) if keep else (None, None)


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


def _merge(cache, mask, new_caches: list, device):
    """The batch cache and attention mask with each new row's cache appended, all left-padded to one length."""
    import torch

    caches = ([cache] if cache is not None else []) + new_caches
    width = max(c.layers[0].keys.shape[-2] for c in caches)
    masks = [] if mask is None else [torch.nn.functional.pad(mask, (width - mask.shape[1], 0))]
    for c in new_caches:
        length = c.layers[0].keys.shape[-2]
        masks.append(torch.cat([torch.zeros((1, width - length), dtype=torch.long, device=device),
                                torch.ones((1, length), dtype=torch.long, device=device)], dim=1))
    target = caches[0]
    for n, layer in enumerate(target.layers):
        for name in ("keys", "values"):
            parts = []
            for c in caches:
                tensor = getattr(c.layers[n], name)
                parts.append(torch.nn.functional.pad(tensor, (0, 0, width - tensor.shape[-2], 0)))
            setattr(layer, name, torch.cat(parts, dim=0))
    return target, torch.cat(masks, dim=0)


def _select(cache, mask, keep: list[int]):
    """The batch cache and mask of the rows `keep`, without leading columns that none of them attends to."""
    import torch

    index = torch.tensor(keep, device=mask.device)
    mask = mask.index_select(0, index)
    first = int(mask.any(dim=0).nonzero()[0][0]) if mask.numel() else 0
    mask = mask[:, first:]
    for layer in cache.layers:
        layer.keys = layer.keys.index_select(0, index)[:, :, first:]
        layer.values = layer.values.index_select(0, index)[:, :, first:]
    return cache, mask
