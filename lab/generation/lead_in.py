"""An answer does not end before it is given.

A 135M model often opens with a lead-in that ends in a colon ("The answer is:", "The command to run after
installing MIME XML files ... is:") and then breaks the line. An answer ends at its first blank line
(`lab.generation.prompts.ANSWER_ENDS`, which cuts the scaffolding it would copy next), so such answers ended
empty. `LeadInBound` is a logits processor: while the answer's text ends in a colon, tokens that break the line
or end the answer get no probability, so what the lead-in introduces is written on the same line. Nothing else
changes: after anything but a colon every token is as the model scores it. Measured in
docs/results.md#the-lead-in-bound-2026-12-02.

>>> ends_in_lead_in("The answer is:"), ends_in_lead_in("The key is: "), ends_in_lead_in("It is 5."), ends_in_lead_in("")
(True, True, False, False)
"""

from __future__ import annotations

from collections.abc import Sequence

TAIL_TOKENS = 4  # a colon and the spaces after it are a token or two: enough to see whether the text ends in one


def ends_in_lead_in(text: str) -> bool:
    """True when `text` (an answer so far) ends in a colon, spaces aside: what follows it must be said."""
    return text.rstrip(" \t").endswith(":")


def line_break_tokens(tokenizer) -> list[int]:
    """Ids of the vocabulary's tokens whose text holds a line break (a pass over the vocabulary, ~0.2 s for 49k
    tokens: a generator computes it once)."""
    return [token_id for text, token_id in tokenizer.get_vocab().items()
            if "\n" in tokenizer.convert_tokens_to_string([text])]


class LeadInBound:
    """Logits processor: in each row whose answer ends in a colon, line breaks and the `ends` tokens are masked.
    `start` is where the answer begins in `input_ids` (transformers' `generate` passes prompt and answer together;
    the prompt's own end, such as a template's "Assistant:", is not the answer's)."""

    def __init__(self, tokenizer, banned: Sequence[int], ends: Sequence[int] = (), start: int = 0):
        self.tokenizer, self.start = tokenizer, start
        self.banned = sorted({*banned, *(e for e in ends if e is not None)})

    def __call__(self, input_ids, scores):
        for row in range(scores.shape[0]):
            answer = input_ids[row, self.start:][-TAIL_TOKENS:]
            if len(answer) and ends_in_lead_in(self.tokenizer.decode(answer, skip_special_tokens=True)):
                scores[row, self.banned] = float("-inf")
        return scores
