"""Quality metrics for one answer: pure functions, each with a worked example.

>>> normalize("The port is 7,443!")
'port is 7443'
>>> is_correct("It listens on port 7443.", "7443", [])
True
>>> round(token_f1("Team costs 14 dollars", "14 dollars"), 3)
0.667
>>> citations("See [1] and [3].")
[1, 3]
>>> json_format_ok('{"answer": "Paris", "sources": [], "confidence": "high"}')
True
>>> abstained("I don't know."), abstained("It listens on port 7443.")
(True, False)
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation.replace(".", "").replace("-", "").replace("/", "")
                       .replace("_", "").replace("$", ""))
STOPWORDS = frozenset(
    "a an the is are was were be been of to in on for at by with from and or as it its this that these those "
    "which what who when where how do does did can could should would will not no yes i you we they he she".split())


def normalize(text: str) -> str:
    """Lowercase, drop articles and most punctuation, join digit groups (7,443 -> 7443), squeeze spaces."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    text = text.translate(_PUNCT)
    text = re.sub(r"(?<!\w)[.]|[.](?!\w)", " ", text)  # sentence dots, not dots inside keys or numbers
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def is_correct(answer: str, gold: str, aliases: Sequence[str] = ()) -> bool:
    """Normalised exact/alias match: the gold answer or an alias appears, as whole words, in the answer."""
    said = f" {normalize(answer)} "
    for form in [gold, *aliases]:
        norm = normalize(form)
        if norm and f" {norm} " in said:
            return True
    return False


def _tokens(text: str) -> list[str]:
    return normalize(text).split()


def token_f1(answer: str, gold: str, aliases: Sequence[str] = ()) -> float:
    """SQuAD-style token F1, best over the gold answer and its aliases."""
    best = 0.0
    said = _tokens(answer)
    for form in [gold, *aliases]:
        want = _tokens(form)
        common = sum((Counter(said) & Counter(want)).values())
        if common:
            precision, recall = common / len(said), common / len(want)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if len(s.split()) >= 2]


def groundedness(answer: str, passages: Sequence[str], threshold: float = 0.6) -> float | None:
    """Share of answer sentences whose content words mostly (>= threshold) appear in one passage.

    None when there are no passages (the metric does not apply to paths without retrieval).
    >>> groundedness("Port 7443 is used. Bananas are blue.", ["The API uses port 7443."])
    0.5
    """
    if not passages:
        return None
    found = sentences(answer)
    if not found:
        return 0.0
    bags = [set(_tokens(p)) for p in passages]
    supported = 0
    for sentence in found:
        words = [w for w in _tokens(re.sub(r"\[\d+\]", " ", sentence)) if w not in STOPWORDS]
        if not words or any(sum(w in bag for w in words) / len(words) >= threshold for bag in bags):
            supported += 1
    return supported / len(found)


def citations(answer: str) -> list[int]:
    """Passage numbers cited as [n] (or [n, m]), in order of first appearance."""
    seen: list[int] = []
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer):
        for number in (int(n) for n in group.split(",")):
            if number not in seen:
                seen.append(number)
    return seen


def cited(text: str) -> list[int]:
    """Passages an answer cites: a JSON answer's `sources` numbers, then any [n] in its text (plain answers:
    the [n] only), in order of first appearance. Booleans, strings and fractions in `sources` are not numbers."""
    try:
        value = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        return citations(text)
    sources = value.get("sources") if isinstance(value.get("sources"), list) else []
    seen = [s for s in sources if isinstance(s, int) and not isinstance(s, bool)]
    seen = list(dict.fromkeys(seen))
    return seen + [c for c in citations(str(value.get("answer", ""))) if c not in seen]


def citation_validity(cited: Sequence[int], passages: int) -> float | None:
    """Share of citations that point at a passage that was given; None when nothing was cited or retrieved."""
    if not passages or not cited:
        return None
    return sum(1 <= c <= passages for c in cited) / len(cited)


def json_format_ok(text: str) -> bool:
    """The behaviour set's schema: one JSON object with exactly answer (str), sources (list of int), confidence."""
    text = text.strip()
    if text.startswith("```"):
        return False
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return False
    return (isinstance(value, dict) and list(value) == ["answer", "sources", "confidence"]
            and isinstance(value["answer"], str)
            and isinstance(value["sources"], list) and all(isinstance(s, int) for s in value["sources"])
            and value["confidence"] in ("high", "medium", "low"))


_ABSTAIN = re.compile(
    r"\b(?:i|we)(?:\s+(?:do|does|did|can|could|am|are)(?:\s*n[o']?t|\s+not)|\s+cannot|'m\s+not|\s+am\s+unable\s+to"
    r"|'m\s+unable\s+to|\s+have\s+no)\s+(?:know|find|tell|say|determine|answer|sure|certain|access|have|information"
    r"|idea|(?:any|enough|the)\s+information)\b"
    r"|\bnot\s+(?:known|sure|certain)\b"
    r"|\b(?:no|not\s+enough|insufficient)\s+information\b"
    r"|\b(?:not|n't)\s+(?:mentioned|stated|provided|given|specified|found|covered|included)\s+in\s+(?:the\s+)?"
    r"(?:context|passages?|documents?|sources?|text)\b"
    r"|\b(?:unable|impossible)\s+to\s+(?:find|answer|determine|tell)\b"
    r"|\b(?:cannot|can't|could\s+not|couldn't)\s+(?:be\s+)?(?:found|determined|answered)\b",
    re.IGNORECASE)


_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|cannot|without|unsupported|false)\b|n't\b", re.I)


def contradicts(answer: str, gold: str, aliases: Sequence[str] = (), question: str = "") -> bool:
    """Whether an answer that contains the gold answer says the opposite of it. The clause holding the gold must
    have the gold's polarity: negated when the gold is ("No, it is Enterprise only"), not negated when the gold is
    not ("X is not supported" against "supported"); a question that is itself negated ("which ... is not ...")
    leaves polarity undecided. A yes/no gold is contradicted by the opposite word anywhere in the answer (a hedge:
    "1. Yes. 2. No."). Containment credits all of these; the strict score (`correct_strict`) does not.

    >>> contradicts("Windows is not supported.", "supported", question="Is Windows supported?")
    True
    >>> contradicts("Wayland is not supported. Wayland is supported.", "supported", question="Is Wayland supported?")
    True
    >>> contradicts("Windows 7 is not supported.", "Windows 7", question="Which version is not supported?")
    False
    >>> contradicts("It listens on port 7443 [1].", "7443", question="Which port?")
    False
    >>> contradicts("Retention is 45 days, not 30.", "45 days", question="How long is retention?")
    False
    >>> contradicts("No, legal hold is not available on Business.", "No", question="Is legal hold on Business?")
    False
    >>> contradicts("1. Yes. 2. Yes. 3. No.", "No, partial months are not refunded.", ["no"], "Refunded?")
    True
    """
    forms = [normalize(f) for f in [gold, *aliases] if normalize(f)]
    clauses = [c for c in re.split(r"(?<=[.!?;:])\s+|\n+|,\s+|\s+but\s+", answer) if c.strip()]
    holding = [c for c in clauses if any(f" {f} " in f" {normalize(c)} " for f in forms)]
    if not holding:
        return False
    first = normalize(gold).split(" ", 1)[0]
    if first in ("yes", "no"):
        opposite = "no" if first == "yes" else "yes"
        if re.search(rf"\b{opposite}\b", answer, re.I):
            return True
    if _NEGATION.search(question):
        return False
    expected = bool(_NEGATION.search(gold))
    return any(bool(_NEGATION.search(c)) != expected for c in holding)


def abstained(answer: str) -> bool:
    """Whether the answer declines: says it does not know, cannot find or was not given the answer.

    Matched on the answer text (use `json_answer` first for JSON answers). The phrases: "I/we don't
    (do not, can't, cannot, am unable to) know/find/tell/say/determine/answer/access/have", "I'm not
    sure", "no information", "not mentioned (stated, provided, ...) in the context (passages,
    documents)", "unable to find/answer", "cannot be found/determined". A wrong answer that is not an
    abstention is a confident wrong answer.

    >>> [abstained(t) for t in ["I do not know the answer.", "The passages do not mention it; not stated in the "
    ...                         "context.", "I'm not sure.", "Port 7443 is not used by agents."]]
    [True, True, True, False]
    """
    return bool(_ABSTAIN.search((answer or "").replace("\u2019", "'")))


def json_answer(text: str) -> str:
    """The `answer` field when the text is a JSON answer, else the text itself (so scoring is fair to both)."""
    try:
        value = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return text
    return str(value.get("answer", text)) if isinstance(value, dict) else text


def repeats(text: str, n: int = 4, times: int = 3) -> str | None:
    """The phrase an answer loops on, when it degenerated into repetition (None otherwise): a run of `n` words that
    comes back at least `times` times and, with its repeats, makes up at least half of the answer. A small model at
    greedy decoding can fall into such a loop; it is not an answer, however the scores read it.

    >>> repeats("1. HALYARD 4.1 RELEASE NOTES 2. HALYARD 4.1 RELEASE NOTES 3. HALYARD 4.1 RELEASE NOTES "
    ...         "4. HALYARD 4.1 RELEASE NOTES")
    'halyard 4.1 release notes'
    >>> repeats("The API listens on port 7443 [1]. Set the port in halyard.toml; the port is 7443 by default.")
    >>> repeats("yes " * 12), repeats("Paris. Paris. Paris.")
    ('yes yes yes yes', None)
    """
    words = [w.strip(string.punctuation).lower() for w in text.split()]
    words = [w for w in words if w]
    if len(words) < n * times:
        return None
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    if count >= times and count * n * 2 >= len(words):
        return " ".join(gram)
    return None
