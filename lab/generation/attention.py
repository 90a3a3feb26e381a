"""Decoding attention for the bfloat16 backend.

A decoding step asks attention for a few query tokens a row (its last token, and its drafts while few rows
decode) over the whole key/value cache. On a CPU in bfloat16, torch's scaled-dot-product kernel takes ~2 ms a
layer for 16 rows of ~900 cached tokens with one query each, and ~1.8 ms for 3 rows with 11; two plain matrix
multiplies with the softmax in float32 take a fraction of that (measured with torch 2.13 on the 2-core AVX-512
BF16 machine the README's figures come from). Everything else (prefill, float32, training) stays on
transformers' SDPA.
"""

from __future__ import annotations

NAME = "lab_sdpa"
# Queries a row up to which a step's attention is two multiplies: a step's own token and its drafts
# (`lab.generation.models.PROMPT_LOOKUP_TOKENS` + 1); a prompt's prefill has more and goes to SDPA.
STEP_QUERIES = 16


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
              is_causal: bool | None = None, **kwargs):
    """transformers' attention interface: query [rows, heads, queries, dim] attends to key/value [rows, kv heads,
    columns, dim] under a boolean mask [rows, 1, queries, columns] (True: attend); the key/value heads are shared
    by groups of query heads without being repeated."""
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
