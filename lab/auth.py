"""Optional sign-in for a shared demo: one password from the environment, or OIDC through Streamlit.

The lab serves on 127.0.0.1 and asks nothing by default. To show it to others, set a password (the app asks
for it once per browser session before any page draws) or configure OpenID Connect (Streamlit's `st.login`,
an `[auth]` section in `.streamlit/secrets.toml`; it needs `pip install "Authlib>=1.3.2"`):

    LAB_PASSWORD='a long passphrase' make run           # or
    LAB_PASSWORD_FILE=/run/secrets/lab_password make run # first line of the file (keeps it out of `ps`)

Checks use `hmac.compare_digest` (time independent of where the guess differs), and each failure in a
session waits a little longer (`failure_delay`), which makes guessing slow without locking anyone out.

>>> password_matches("correct horse", "correct horse"), password_matches("correct", "correct horse")
(True, False)
>>> [failure_delay(n) for n in (1, 2, 10)]
[1.0, 2.0, 5.0]
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from lab.errors import InputError

PASSWORD_ENV = "LAB_PASSWORD"
PASSWORD_FILE_ENV = "LAB_PASSWORD_FILE"
MAX_DELAY_S = 5.0
AUTHLIB_MISSING = ("OIDC sign-in is configured ([auth] in .streamlit/secrets.toml) but Authlib is not installed: "
                   "run `pip install \"Authlib>=1.3.2\"` (it brings the cryptography package) and restart, or "
                   "remove the [auth] section to use LAB_PASSWORD instead.")


def configured_password(environ: Mapping[str, str] = os.environ) -> str | None:
    """The shared password (LAB_PASSWORD_FILE's first line, else LAB_PASSWORD); None when no gate is wanted."""
    file = environ.get(PASSWORD_FILE_ENV, "").strip()
    if file:
        try:
            lines = Path(file).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputError(f"{PASSWORD_FILE_ENV} is set but {file} cannot be read ({exc.strerror}); fix the path "
                             "or unset it. The lab stays locked until then.") from exc
        if not lines or not lines[0].strip():
            raise InputError(f"{PASSWORD_FILE_ENV} points to {file}, whose first line is empty; write the password "
                             "there. The lab stays locked until then.")
        return lines[0].strip()
    return environ.get(PASSWORD_ENV) or None


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (of SHA-256 digests, so the length of the password does not leak either)."""
    digest = lambda text: hashlib.sha256(text.encode("utf-8")).digest()  # noqa: E731
    return hmac.compare_digest(digest(given), digest(expected))


def failure_delay(failures: int) -> float:
    """Seconds to wait after the n-th failed attempt of a session: 1 s more each time, at most 5 s."""
    return min(float(max(failures, 1)), MAX_DELAY_S)
