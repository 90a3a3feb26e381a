"""One greedy answer is decoded with prompt lookup (drafts copied from the prompt, checked in one pass): in float32
the same answer as plain greedy decoding, counted to the same end. (Its speed is claimed by `python -m lab bench`.)"""

from pathlib import Path

import pytest

from lab.config import DecodingConfig
from lab.generation.prompts import chat

LICENCES = Path("/usr/share/common-licenses")


def _passages(name: str, start: int, size: int = 700) -> tuple[str, str]:
    return name, (LICENCES / name).read_text(errors="replace")[start:start + size]


@pytest.mark.model
def test_prompt_lookup_gives_the_plain_greedy_answers_on_real_licence_passages():
    from lab.generation.models import LocalGenerator

    questions = [
        chat("What may you do with verbatim copies of this document?", [_passages("GPL-3", 0), _passages("LGPL-3", 0)]),
        chat("What must a redistribution of the source code retain?", [_passages("BSD", 0, 1200)]),
        chat("Which licence version does this text describe?", [_passages("Apache-2.0", 0), _passages("MPL-2.0", 0)]),
    ]
    generator = LocalGenerator(backend="transformers")
    decoding = DecodingConfig(max_new_tokens=40)
    looked = [generator.generate([q], decoding)[0] for q in questions]
    generator.prompt_lookup = False
    plain = [generator.generate([q], decoding)[0] for q in questions]
    assert [g.text for g in looked] == [g.text for g in plain] and all(g.text for g in plain)
    assert [g.tokens_out for g in looked] == [g.tokens_out for g in plain]


@pytest.mark.model
def test_tokens_past_an_answer_end_are_not_counted():
    from transformers import AutoTokenizer

    from lab.generation.embedded import default_model_folder
    from lab.generation.models import answer_tokens

    tokenizer = AutoTokenizer.from_pretrained(default_model_folder())
    answer = tokenizer("It is GPL-3 [1].", add_special_tokens=False)["input_ids"]
    ended = tokenizer("It is GPL-3 [1].\n\n[2] source: x", add_special_tokens=False)["input_ids"]
    assert answer_tokens(tokenizer, answer) == len(answer)
    assert len(answer) < answer_tokens(tokenizer, ended) <= len(answer) + 2 < len(ended)
