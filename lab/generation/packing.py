"""Linear layers whose bfloat16 weights are packed once for oneDNN (the bf16 backend on a CPU).

`torch.nn.functional.linear` on a bfloat16 CPU tensor gives oneDNN the plain [out, in] weight, which it reorders
into its blocked layout on every call. A decoding step multiplies a few rows by every weight of the model, so that
reordering is a large share of it. Here each linear layer's weight is reordered once, when the bf16 copy is made
(`torch.ops.mkldnn._reorder_linear_weight`), and every call multiplies by the packed weight
(`torch.ops.mkldnn._linear_pointwise`): the same oneDNN kernel on the same numbers, so the default model's outputs
are the same bit for bit (checked in `tests/test_backends.py`; it has no biases, whose addition torch's plain path
rounds differently for some input layouts).

Measured with torch 2.13 on the 2-core AVX-512 BF16 machine of
docs/results.md#generation-speed-folded-passes-and-packed-weights-2026-12-02, all 210 linear layers
of the default model once each (weights cycled, so read from memory as in a real step):

| rows | plain | packed |
|---|---|---|
| 3 | 21.6 ms | 14.5 ms |
| 16 | 29.5 ms | 19.2 ms |
| 128 | 99.9 ms | 83.9 ms |
| 900 (a prefill) | 533.5 ms | 511.6 ms |

The packed weight replaces the layer's own (it is an opaque oneDNN tensor: the copy it lives in generates and is
never saved, copied or trained). LoRA's own small matrices stay plain, so peft switches adapters on the copy as on
the original.
"""

from __future__ import annotations

import functools

# The rows a weight is packed for: oneDNN picks its blocking by it; any number of rows multiplies correctly.
# 16 is a decoding step's width (`lab.generation.models.SLOTS`); packed for 16, 1 to 900 rows all ran faster.
ROWS_HINT = 16


def available(model) -> bool:
    """Whether `model`'s linear layers can be packed: a bfloat16 model on a CPU where torch's oneDNN multiplies
    bfloat16 (it refuses to on CPUs without AVX-512; there the bf16 backend keeps torch's plain `linear`)."""
    import torch

    parameter = next(model.parameters())
    return (parameter.device.type == "cpu" and parameter.dtype == torch.bfloat16
            and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def pack_linears(model) -> int:
    """Pack every plain `torch.nn.Linear` of `model` (LoRA's matrices aside) in place; returns how many."""
    return replace_linears(model, _packed_class())


def replace_linears(model, make) -> int:
    """Replace every plain `torch.nn.Linear` of `model` in place by `make(linear)`, except LoRA's own small
    matrices (peft's `lora_A` / `lora_B`), which the adapters switch; returns how many were replaced. The bf16
    copy packs its layers with it, the int8 copy quantizes them."""
    import torch

    replaced = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is torch.nn.Linear and "lora_" not in f"{name}.{child_name}":
                setattr(module, child_name, make(child))
                replaced += 1
    return replaced


@functools.cache
def _packed_class():
    import torch

    class PackedLinear(torch.nn.Module):
        """y = x W^T + b with W held in oneDNN's blocked layout (made from a `torch.nn.Linear`)."""

        def __init__(self, linear):
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            with torch.no_grad():
                self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), ROWS_HINT)
            self.bias = linear.bias

        def forward(self, x):
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}, packed for oneDNN"

    return PackedLinear
