"""Continuous batching (`lab.generation.continuous`): rows join and leave one shared batch as their answers finish,
and each answer is the one greedy decoding gives it alone. Checked on the real embedded model in float32 (where
batching cannot change the arithmetic's result), on real licence passages of different lengths, with two slots so
that rows are merged in, left-padded and dropped many times. (Its speed is claimed by `python -m lab bench`.)"""

from pathlib import Path

import pytest

from lab.config import DecodingConfig
from lab.generation.prompts import chat

LICENCES = Path("/usr/share/common-licenses")
DECODING = DecodingConfig(max_new_tokens=40)


def _passage(name: str, start: int, size: int) -> tuple[str, str]:
    return name, (LICENCES / name).read_text(errors="replace")[start:start + size]


def _conversations() -> list[list[dict]]:
    return [
        chat("What may you do with verbatim copies of this document?", [_passage("GPL-3", 0, 900)]),
        chat("Name three permissive software licences."),  # no passages: a short prompt, a long answer
        chat("What must a redistribution of the source code retain?", [_passage("BSD", 0, 1400)]),
        chat("Which licence version does this text describe?", [_passage("Apache-2.0", 0, 500),
                                                                  _passage("MPL-2.0", 0, 700)]),
        chat("What is a copyleft licence?"),
        chat("Who is the author of this licence?", [_passage("Artistic", 0, 300)]),
    ]


@pytest.fixture(scope="module")
def reference_generator():
    from lab.generation.models import LocalGenerator

    generator = LocalGenerator(backend="transformers")
    generator.slots = 2
    return generator


@pytest.fixture(scope="module")
def alone(reference_generator):
    """Each conversation generated on its own, plain greedy (no prompt lookup, no batch)."""
    reference_generator.prompt_lookup = False
    try:
        return [reference_generator.generate([c], DECODING, continuous=False)[0] for c in _conversations()]
    finally:
        reference_generator.prompt_lookup = True


@pytest.mark.model
def test_each_answer_is_its_greedy_answer_alone_and_is_reported_as_it_is_done(reference_generator, alone,
                                                                              monkeypatch):
    import time

    import lab.generation.continuous as continuous

    calls: list[str] = []  # a prompt prefilled after a kept prompt's prefix; a new prompt in a finished row's slot;
    # a rebuild (rows leave, a longer prompt comes, the buffers are full)
    original_prefix = continuous._prefix
    monkeypatch.setattr(continuous, "_prefix", lambda kept, ids: (lambda found: (calls.append(
        "prefix" if found[1] else "alone"), found)[1])(original_prefix(kept, ids)))
    for name in ("place", "rebuild"):
        original = getattr(continuous._Batch, name)
        monkeypatch.setattr(continuous._Batch, name, lambda self, *a, _name=name, _original=original:
                            (calls.append(_name), _original(self, *a))[1])
    monkeypatch.setattr(continuous, "HEADROOM", 8)
    monkeypatch.setattr(continuous, "MIN_PREFIX", 8)  # the system prompt alone is a prefix worth reusing here
    done: list[int] = []
    start = time.perf_counter()
    together = reference_generator.generate(_conversations(), DECODING, each=lambda i, _: done.append(i))
    wall = time.perf_counter() - start
    assert calls.count("place") >= 1 and calls.count("rebuild") >= 3 and calls.count("prefix") >= 3
    assert [g.text for g in together] == [g.text for g in alone] and all(g.text for g in alone)
    assert [g.tokens_out for g in together] == [g.tokens_out for g in alone]
    assert [g.tokens_in for g in together] == [g.tokens_in for g in alone]
    assert sorted(done) == list(range(len(alone)))  # once each, in the order the answers finished
    assert sum(g.seconds for g in together) <= wall  # shares of the call's time, not the call's time each


@pytest.mark.model
def test_prompts_prefilled_in_the_pass_of_a_step_change_no_answer(reference_generator, alone, monkeypatch):
    """With the lab's attention installed (as the bfloat16 backend has it), a prompt that comes while rows decode
    is prefilled in the same forward pass as their step (`_fold`); in float32 every answer is still its greedy
    answer alone, after a reused prefix too."""
    import lab.generation.continuous as continuous
    from lab.generation import attention

    calls: list[int] = []  # a folded pass: the prefix length it reused
    original = continuous._fold
    monkeypatch.setattr(continuous, "_fold", lambda model, batch, rows, ids, reused, cache, device: (
        calls.append(reused), original(model, batch, rows, ids, reused, cache, device))[1])
    monkeypatch.setattr(continuous, "HEADROOM", 8)
    model = reference_generator.model
    was = model.config._attn_implementation
    attention.install(model)
    try:
        for shortest in (8, 10_000):  # a prefix reused (the system prompt at least), then none
            monkeypatch.setattr(continuous, "MIN_PREFIX", shortest)
            calls.clear()
            together = reference_generator.generate(_conversations(), DECODING)
            assert len(calls) >= 3 and all(calls) == (shortest == 8), calls
            assert [g.text for g in together] == [g.text for g in alone]
            assert [g.tokens_out for g in together] == [g.tokens_out for g in alone]
    finally:
        model.set_attn_implementation(was)


@pytest.mark.model
def test_a_cancel_mid_call_stops_it_and_the_next_call_answers_the_same(reference_generator, alone):
    class Cancelled(Exception):
        pass

    def cancel_on_second(i: int, _generation) -> None:
        seen.append(i)
        if len(seen) == 2:
            raise Cancelled

    seen: list[int] = []
    with pytest.raises(Cancelled):
        reference_generator.generate(_conversations(), DECODING, each=cancel_on_second)
    assert len(seen) == 2
    again = reference_generator.generate(_conversations(), DECODING)  # the lock was released, no state left over
    assert [g.text for g in again] == [g.text for g in alone]


@pytest.mark.model
def test_a_cache_that_cannot_be_merged_falls_back_to_fixed_batches(reference_generator, alone, monkeypatch):
    import lab.generation.continuous as continuous

    monkeypatch.setattr(continuous, "supported", lambda cache: False)
    done: list[int] = []
    fixed = reference_generator.generate(_conversations()[:3], DECODING, each=lambda i, _: done.append(i))
    assert [g.text for g in fixed] == [g.text for g in alone[:3]] and done == [0, 1, 2]


def test_drafts_are_what_followed_the_last_words_earlier():
    import doctest

    import lab.generation.continuous

    assert doctest.testmod(lab.generation.continuous).failed == 0


@pytest.mark.model
def test_the_bfloat16_decoding_attention_is_attention():
    """`lab.generation.attention` against float32 SDPA on left-padded rows of different lengths, with one query a
    row and with drafts; what it does not handle (a prompt's many queries) goes to SDPA unchanged."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from lab.generation.attention import attention

    class Layer(torch.nn.Module):
        num_key_value_groups = 3
        is_causal = True

    layer = Layer().eval()
    generator = torch.Generator().manual_seed(0)
    rows, columns = 4, 300
    query = torch.randn(rows, 9, 1, 64, generator=generator)
    key, value = (torch.randn(rows, 3, columns, 64, generator=generator) for _ in range(2))
    mask = torch.zeros(rows, 1, 1, columns, dtype=torch.bool)
    for row, start in enumerate((0, 40, 150, 299)):
        mask[row, ..., start:] = True
    expected, _ = sdpa_attention_forward(layer, query, key, value, mask, scaling=0.125)
    got, _ = attention(layer, query.bfloat16(), key.bfloat16(), value.bfloat16(), mask, scaling=0.125)
    assert got.shape == expected.shape == (rows, 1, 9, 64)
    assert torch.allclose(got.float(), expected, atol=0.03)
    queries = 11  # a step's token and its drafts: each sees the columns before it, not the later drafts
    query = torch.randn(rows, 9, queries, 64, generator=generator)
    mask[-1, ..., 280:] = True  # every query sees some column (one that sees none has no defined attention)
    mask = mask.expand(rows, 1, queries, columns).clone()
    mask[..., columns - queries:] &= ~torch.ones(queries, queries, dtype=torch.bool).triu(1)
    expected, _ = sdpa_attention_forward(layer, query, key, value, mask, scaling=0.125)
    got, _ = attention(layer, query.bfloat16(), key.bfloat16(), value.bfloat16(), mask, scaling=0.125)
    assert got.shape == expected.shape == (rows, queries, 9, 64)
    assert torch.allclose(got.float(), expected, atol=0.03)
    prompt = torch.randn(1, 9, 17, 64, generator=generator).bfloat16()
    keys = key[:1, :, :17].bfloat16()
    assert torch.equal(attention(layer, prompt, keys, keys, None, scaling=0.125)[0],
                       sdpa_attention_forward(layer, prompt, keys, keys, None, scaling=0.125)[0])
    import doctest

    import lab.generation.attention

    result = doctest.testmod(lab.generation.attention)  # a folded pass's prompt mask
    assert result.attempted and not result.failed
