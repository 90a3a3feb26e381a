"""Decoding attention for the bfloat16 backend.

A decoding step asks attention for a few query tokens a row (its last token, and its drafts while few rows
decode) over the whole key/value cache. On a CPU in bfloat16, torch's scaled-dot-product kernel takes ~2 ms a
layer for 16 rows of ~900 cached tokens with one query each, and ~1.8 ms for 3 rows with 11; two plain matrix
multiplies with the softmax in float32 take a fraction of that (measured with torch 2.13 on the 2-core AVX-512
BF16 machine of docs/results.md#generation-levers-2026-12-01). Everything else (prefill, float32, training) stays on
transformers' SDPA.

A folded pass (`folded`, `lab.generation.continuous._fold`) packs a prompt's prefill and the batch's next step in
one row of tokens: its attention is split back into the prompt's (SDPA, causal after the prompt's cached prefix)
and each decoding row's (over the batch's buffers).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

NAME = "lab_sdpa"
# Queries a row up to which a step's attention is two multiplies: a step's own token and its drafts
# (`lab.generation.models.PROMPT_LOOKUP_TOKENS` + 1); a prompt's prefill has more and goes to SDPA.
STEP_QUERIES = 16


_FOLD: ContextVar["Fold | None"] = ContextVar("lab_fold", default=None)


@dataclass
class Fold:
    """One forward pass that prefills a prompt and takes a decoding step for a batch's rows
    (`lab.generation.continuous`): its first `prefill` queries are the prompt's, causal (`prompt_mask` None) or
    under `prompt_mask` [1, 1, prefill, cached + prefill] after a cached prefix; the rest one a row, attending to
    the batch's buffers (`layers`, each with `keys` and `values`) under `mask` [rows, 1, 1, columns]."""

    prefill: int
    prompt_mask: object
    layers: list
    mask: object

    @staticmethod
    def after(reused: int, n: int, device=None):
        """The mask of `n` prompt tokens after `reused` cached ones (each sees the prefix and itself so far), or
        None where nothing is cached (plain causal).

        >>> Fold.after(2, 2).int().tolist(), Fold.after(0, 3)
        ([[[[1, 1, 1, 0], [1, 1, 1, 1]]]], None)
        """
        import torch

        if not reused:
            return None
        columns = torch.arange(reused + n, device=device)
        return (columns[None] <= torch.arange(n, device=device)[:, None] + reused)[None, None]


@contextmanager
def folded(fold: Fold):
    """Attention inside the block reads `fold` (the packed pass's layout)."""
    token = _FOLD.set(fold)
    try:
        yield
    finally:
        _FOLD.reset(token)


def installed(model) -> bool:
    """Whether `model` attends through `attention` (and so can take a folded pass)."""
    return getattr(model.config, "_attn_implementation", None) == NAME


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
              is_causal: bool | None = None, **kwargs):
    """transformers' attention interface: query [rows, heads, queries, dim] attends to key/value [rows, kv heads,
    columns, dim] under a boolean mask [rows, 1, queries, columns] (True: attend); the key/value heads are shared
    by groups of query heads without being repeated. Inside `folded`, the pass is a prompt and a step packed in one
    row (`_folded`)."""
    fold = _FOLD.get()
    if fold is not None and not module.training:
        return _folded(fold, module, query, key, value, scaling)
    return _attention(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)


def _folded(fold: Fold, module, query, key, value, scaling):
    """The prompt's queries attend causally to its cached prefix and itself (`key`, `value`: what its cache holds
    now); each row's query attends to its row of the batch's buffers. Outputs [1, prompt + rows, heads, dim]."""
    import torch

    n = fold.prefill
    prompt, _ = _attention(module, query[:, :, :n], key, value, fold.prompt_mask, 0.0, scaling,
                           fold.prompt_mask is None)
    layer = fold.layers[module.layer_idx]
    rows, _ = _attention(module, query[0, :, n:].transpose(0, 1)[:, :, None], layer.keys, layer.values, fold.mask,
                      0.0, scaling, False)
    return torch.cat([prompt, rows.transpose(0, 1)], dim=1), None


def _attention(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if (query.shape[2] > STEP_QUERIES or query.dtype != torch.bfloat16 or attention_mask is None
            or attention_mask.dtype != torch.bool or module.training or not key.is_contiguous()):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    rows, heads, queries, dim = query.shape
    groups = key.shape[1]
    shared = heads // groups * queries  # the queries of one key/value head's group of query heads
    scores = torch.matmul(query.reshape(rows, groups, shared, dim), key.transpose(-1, -2)).float()
    scores *= scaling if scaling is not None else dim ** -0.5
    scores = scores.view(rows, groups, heads // groups, queries, -1)
    scores.masked_fill_(~attention_mask[:, :, None], float("-inf"))
    weights = torch.softmax(scores, dim=-1).to(value.dtype).view(rows, groups, shared, -1)
    output = torch.matmul(weights, value)
    return output.view(rows, heads, queries, dim).transpose(1, 2).contiguous(), None


def install(model) -> None:
    """Route `model`'s attention through `attention` (registered once under NAME, with SDPA's masks)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, attention)
    if NAME not in ALL_MASK_ATTENTION_FUNCTIONS:
        AttentionMaskInterface.register(NAME, sdpa_mask)
    model.set_attn_implementation(NAME)
