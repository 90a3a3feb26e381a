r"""Untrusted text (documents, model output, file names, golden sets) prepared for Streamlit's Markdown.

Streamlit renders Markdown in captions, alerts and widget or expander labels: links, images (fetched from any
URL: a classic way for injected text to leak data), `:color[...]` directives, `$math$`. It never runs HTML
unless `unsafe_allow_html=True`, which the lab never passes. Long text (answers, chunks) is drawn with
`st.code`, which shows it verbatim; short untrusted strings inside Markdown go through `as_text`, which
backslash-escapes every character Markdown or Streamlit give a meaning, so the string shows as is (only the
spaces that start or end a line are dropped: four of them would start a code block). Escapes do not stop GFM's
autolinks (a bare `https://...`, `www.` or e-mail address becomes a link), so a zero-width space goes after
`:` in `://`, after `www` and after `@`: the text looks the same but is never a link.

>>> print(as_text("<script>alert(1)</script> ![x](e.png?q=1) **b**"))
\<script\>alert\(1\)\</script\> \!\[x\]\(e\.png?q\=1\) \*\*b\*\*
>>> as_text("https://e.vil") == "https\\:" + ZERO_WIDTH_SPACE + "//e\\.vil"
True
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^\"'@%])")
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
ZERO_WIDTH_SPACE = "\u200b"


def as_text(value: object, one_line: bool = False) -> str:
    """`value` as Markdown that displays as exactly its text; `one_line` folds line breaks (for labels)."""
    text = " ".join(str(value).split()) if one_line else "\n".join(line.strip() for line in str(value).splitlines())
    return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(ZERO_WIDTH_SPACE, text))


def count(n: int, word: str, many: str | None = None) -> str:
    """A number and its noun, singular for one: count(1, "question"), count(3, "question") -> '1 question',
    '3 questions'; count(2, "chunk", "chunks") -> '2 chunks'.

    >>> count(1, "question"), count(0, "answer"), count(1_234, "chunk")
    ('1 question', '0 answers', '1,234 chunks')
    """
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def signed(value: float, digits: int = 2) -> str:
    """A signed number that never reads -0.00: signed(-0.0001) -> '+0.00', signed(0.25) -> '+0.25'.

    >>> signed(-0.0001), signed(0.25), signed(-0.1234, 3)
    ('+0.00', '+0.25', '-0.123')
    """
    return f"{round(value, digits) + 0.0:+.{digits}f}"


_WORD = re.compile(r"\w+")


def marked(text: str, query: str) -> str:
    """`text` as Markdown that displays as exactly its text, with the words of `query` (three letters or more)
    in bold, so a reader picking a gold passage sees where the query matched.

    >>> print(marked("Set max_conn to 512 in halyard.toml.", "max_conn default halyard"))
    Set **max\_conn** to 512 in **halyard**\.toml\.
    """
    def escape(part: str) -> str:
        return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(ZERO_WIDTH_SPACE, part))

    terms = {w.lower() for w in _WORD.findall(query) if len(w) >= 3}
    out, last = [], 0
    for found in _WORD.finditer(text):
        out.append(escape(text[last:found.start()]))
        word = escape(found.group())
        out.append(f"**{word}**" if found.group().lower() in terms else word)
        last = found.end()
    out.append(escape(text[last:]))
    return "\n".join(line.strip() for line in "".join(out).splitlines())
