"""A training step split into several forward passes gives the gradients of one pass over the whole batch.

Splitting bounds the activations a step holds (memory grows with the tokens in one pass), so it must not
change what is learned. Real SmolLM2 + LoRA, dropout off so both sides see the same network.
"""

import pytest

from lab.config import SAMPLE_CORPUS


@pytest.fixture(scope="module")
def setup():
    from lab.finetune.data import load_examples
    from lab.finetune.loop import encode_all, load_for_training
    from lab.finetune.config import LoraTrainConfig

    config = LoraTrainConfig(dropout=0.0)
    model, tokenizer, device, _ = load_for_training(None, config)
    with_b_nonzero(model)
    examples, _ = load_examples(SAMPLE_CORPUS / "finetune_behaviour.jsonl")
    rows, _ = encode_all(examples[:3], tokenizer, config.max_length)
    return model, tokenizer.pad_token_id, device, rows


def with_b_nonzero(model):
    """LoRA starts with B = 0 (so A gets no gradient): give B values so every LoRA weight is checked."""
    import torch

    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.02)


def gradients(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_passes_split_by_token_budget():
    from lab.finetune.loop import passes

    rows = [([0] * n, [0] * n) for n in (10, 12, 30, 31)]
    assert passes(rows, 1000) == [rows]
    assert passes(rows, 60) == [rows[:2], rows[2:3], rows[3:]]  # padded to the longest row of each pass
    assert passes(rows, 1) == [[r] for r in rows]  # a row longer than the budget still gets a pass of its own


@pytest.mark.model
def test_split_step_has_the_gradients_of_one_pass(setup):
    import torch

    from lab.finetune.loop import backward_in_passes, completion_loss

    model, pad, device, rows = setup
    model.train()
    model.zero_grad(set_to_none=True)
    loss, _ = completion_loss(model, rows, pad, device)
    loss.backward()
    whole = gradients(model)
    model.zero_grad(set_to_none=True)
    split = backward_in_passes(model, rows, pad, device, max_tokens=1)  # one row per pass
    parts = gradients(model)
    assert split == pytest.approx(loss.item(), rel=1e-5)
    assert set(parts) == set(whole) and any("lora_A" in n for n in whole)
    for name in whole:  # float32 sums in another order (and less left padding): equal to ~1e-5 of the norm
        assert torch.linalg.norm(parts[name] - whole[name]) <= 1e-3 * torch.linalg.norm(whole[name]), name
    model.zero_grad(set_to_none=True)
