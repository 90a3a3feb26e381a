"""Citations a model can only make to passages it was given.

A small model told to cite passages like [1] goes on to cite [5] of four, or copies the prompt's
`[5] source: ...` scaffolding. `CitationBound` is a logits processor for transformers' `generate`: while a row's
text is inside an open citation bracket (`[`, `[1, ` ...), digit tokens that would make a number outside
1..passages get no probability. Nothing else changes: outside brackets every token is as the model scores it.

>>> open_citation("as stated in [1, 2"), open_citation("as stated in ["), open_citation("a [1] b"), open_citation("x")
('2', '', None, None)
>>> allowed_digits("", 3), allowed_digits("1", 3), allowed_digits("1", 12), allowed_digits("", 0)
('123', '', '012', '')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_OPEN = re.compile(r"\[(?:\s*\d+\s*,)*\s*(\d*)$")
TAIL_TOKENS = 12  # enough tokens to see back to an open bracket: "[", digits and ", " are one token each


def open_citation(text: str) -> str | None:
    """The digits typed so far inside a citation bracket the text ends in (possibly ''), or None."""
    match = _OPEN.search(text)
    return None if match is None else match.group(1)


def allowed_digits(typed: str, passages: int) -> str:
    """Digits that may follow `typed` in a citation of one of `passages` passages (the number stays in range,
    no leading zero)."""
    return "".join(d for d in "0123456789" if _in_range(typed + d, passages))


def digit_tokens(tokenizer) -> dict[int, str]:
    """Token id -> its digits, for every all-digit token of the vocabulary (one digit each in SmolLM2's). A pass
    over the whole vocabulary (~0.15 s for 49k tokens): a generator computes it once, not per call."""
    digits = {}
    for text, token_id in tokenizer.get_vocab().items():
        shown = tokenizer.convert_tokens_to_string([text])
        if shown.isdigit() and shown.isascii():
            digits[token_id] = shown
    return digits


class CitationBound:
    """Logits processor: within an open citation bracket, digits that would cite a passage outside
    1..passages[row] are masked. `passages` holds each row's number of given passages (0: none)."""

    def __init__(self, tokenizer, passages: Sequence[int], digits: dict[int, str] | None = None):
        self.tokenizer, self.passages = tokenizer, list(passages)
        self.digit_tokens = digit_tokens(tokenizer) if digits is None else digits

    def __call__(self, input_ids, scores):
        for row, given in enumerate(self.passages):
            tail = self.tokenizer.decode(input_ids[row, -TAIL_TOKENS:], skip_special_tokens=True)
            typed = open_citation(tail)
            if typed is None:
                continue
            banned = [token_id for token_id, digits in self.digit_tokens.items()
                      if not _in_range(typed + digits, given)]
            scores[row, banned] = float("-inf")
        return scores


def _in_range(number: str, passages: int) -> bool:
    return not number.startswith("0") and 1 <= int(number) <= passages
