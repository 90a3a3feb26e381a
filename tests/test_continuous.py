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
def test_each_answer_is_its_greedy_answer_alone_and_is_reported_as_it_is_done(reference_generator, alone):
    import time

    done: list[int] = []
    start = time.perf_counter()
    together = reference_generator.generate(_conversations(), DECODING, each=done.append)
    wall = time.perf_counter() - start
    assert [g.text for g in together] == [g.text for g in alone] and all(g.text for g in alone)
    assert [g.tokens_out for g in together] == [g.tokens_out for g in alone]
    assert [g.tokens_in for g in together] == [g.tokens_in for g in alone]
    assert sorted(done) == list(range(len(alone)))  # once each, in the order the answers finished
    assert sum(g.seconds for g in together) <= wall  # shares of the call's time, not the call's time each


@pytest.mark.model
def test_a_cancel_mid_call_stops_it_and_the_next_call_answers_the_same(reference_generator, alone):
    class Cancelled(Exception):
        pass

    def cancel_on_second(i: int) -> None:
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
    fixed = reference_generator.generate(_conversations()[:3], DECODING, each=done.append)
    assert [g.text for g in fixed] == [g.text for g in alone[:3]] and done == [0, 1, 2]


def test_drafts_are_what_followed_the_last_words_earlier():
    import doctest

    import lab.generation.continuous

    assert doctest.testmod(lab.generation.continuous).failed == 0
