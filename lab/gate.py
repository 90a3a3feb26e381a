"""The gate in front of the server: with a password set, nothing but the sign-in form is served to a client
that has not given it — no page, no upload, no WebSocket — and only to requests whose Host is allowed.

The app's own password form (pages/ui/frame.py) guards a browser *session*; Streamlit's HTTP routes (file uploads,
the WebSocket that carries every widget) do not pass through it. This is plain ASGI middleware around Streamlit's
ASGI app (`make run` serves `st.App` with it, see pages/ui/server.py):

- Host: a request whose Host header is not loopback or a configured name (Streamlit's `server.allowedHosts`) is
  refused with 403 — the precondition for DNS rebinding is gone for HTTP and WebSocket alike.
- Password (LAB_PASSWORD / LAB_PASSWORD_FILE, lab.auth): `POST /_lab/login` checks it in constant time; success
  sets an HttpOnly, SameSite=Strict cookie signed with a key made at start (a restart signs everyone out).
  Without the cookie a page request is sent to the form, anything else (uploads, media, the WebSocket) is
  refused. Only `/_stcore/health` stays open, for monitors; it says "ok" and nothing else.
- Guessing: each failed attempt from a client address makes that *address* wait longer before the next one is
  checked (lab.auth.failure_delay; answered 429 with Retry-After meanwhile), however many sessions or cookies
  it uses. The address is the connection's (`connection_address`): forwarded headers (X-Forwarded-For) are
  believed only from the proxies named in LAB_TRUSTED_PROXIES, so a client cannot rotate them to guess without
  waiting.
- Origin: a request that carries an Origin header (every browser WebSocket does, and every cross-site form)
  must come from the lab's own address (scheme, host and port of its Host header), so a page on another site
  or another localhost port cannot use the user's cookie.

>>> signer = Signer(b"k" * 32)
>>> signer.valid(signer.token(now=100.0), now=101.0), signer.valid("v1.100.forged", now=101.0)
(True, False)
>>> host_allowed([(b"host", b"127.0.0.1:8501")], ["localhost", "127.0.0.1"]), host_allowed([(b"host", b"evil.example")], ["localhost"])
(True, False)
>>> safe_next("/Compare?x=1"), safe_next("//evil.example/"), safe_next("https://evil.example/")
('/Compare?x=1', '/', '/')
>>> safe_next("/\t/evil.example"), safe_next("/ /evil.example")
('/', '/')
>>> same_origin([(b"host", b"127.0.0.1:8501"), (b"origin", b"http://127.0.0.1:8501")])
True
>>> same_origin([(b"host", b"127.0.0.1:8501"), (b"origin", b"http://127.0.0.1:9999")])
False
>>> same_origin([(b"host", b"lab.example"), (b"origin", b"https://lab.example:443")], "wss")
True
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, quote, urlsplit

from lab.auth import configured_password, failure_delay, password_matches
from lab.errors import LabError

COOKIE = "lab_gate"
LOGIN_PATH = "/_lab/login"
OPEN_PATHS = frozenset({"/_stcore/health"})
MAX_AGE_S = 12 * 3600
MAX_FORM_BYTES = 4096
MAX_CLIENTS = 10_000  # failure records kept (oldest dropped first)
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
VOUCH = b"x-lab-gate"  # added to every request the gate let through with the password (never taken from a client)
_MARK = secrets.token_hex(16)  # this process's vouch: the app in the same process trusts it (vouched())


def vouched(value: str | None) -> bool:
    """Did this process's gate let the request through with the password? (The app then skips its own form.)"""
    return bool(value) and hmac.compare_digest(str(value), _MARK)


class Signer:
    """`v1.<issued>.<hmac>` tokens: valid for MAX_AGE_S, only under the key that signed them."""

    def __init__(self, key: bytes):
        self.key = key

    def _mac(self, issued: str) -> str:
        return hmac.new(self.key, f"v1.{issued}".encode(), hashlib.sha256).hexdigest()

    def token(self, now: float | None = None) -> str:
        issued = str(int(now if now is not None else time.time()))
        return f"v1.{issued}.{self._mac(issued)}"

    def valid(self, token: str, now: float | None = None) -> bool:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1" or not parts[1].isdigit():
            return False
        age = (now if now is not None else time.time()) - int(parts[1])
        return 0 <= age <= MAX_AGE_S and hmac.compare_digest(parts[2], self._mac(parts[1]))


class Throttle:
    """Failed attempts per client address: after the n-th, that address waits failure_delay(n) seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def wait_s(self, client: str) -> float:
        """Seconds this client must still wait before an attempt is checked (0: go ahead)."""
        _, until = self.failures.get(client, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, client: str) -> None:
        count = self.failures.pop(client, (0, 0.0))[0] + 1
        self.failures[client] = (count, self.clock() + failure_delay(count))
        while len(self.failures) > MAX_CLIENTS:
            self.failures.popitem(last=False)

    def passed(self, client: str) -> None:
        self.failures.pop(client, None)


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def host_allowed(headers: Iterable[tuple[bytes, bytes]], allowed: Iterable[str]) -> bool:
    """Is the Host header (its name, without the port) one of the allowed names?"""
    host = header(headers, b"host").strip().lower()
    if host.startswith("["):  # [::1]:8501
        name = host.split("]")[0] + "]"
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return bool(name) and name in {a.lower() for a in allowed}


def cookie(headers: Iterable[tuple[bytes, bytes]], name: str) -> str:
    for part in header(headers, b"cookie").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this server only (never `//host` or a scheme, and no control
    characters or spaces, which browsers drop: `/<TAB>/evil.example` would lead to //evil.example)."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def same_origin(headers: Iterable[tuple[bytes, bytes]], scheme: str = "http") -> bool:
    """A request without an Origin header, or whose Origin is the lab's own: the request's scheme (ws counts as
    http) and the host and port of its Host header."""
    origin = header(headers, b"origin").strip().lower()
    if not origin:
        return True
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    own = urlsplit(f"{scheme}://{header(headers, b'host').strip().lower()}")
    try:
        own_port = own.port
    except ValueError:
        return False
    default = 443 if scheme == "https" else 80
    return parts.scheme == scheme and parts.hostname == own.hostname and (port or default) == (own_port or default)


def connection_address(scope) -> str:
    """The address the guess throttle keys on: the connection's own. uvicorn, by default, believes the
    X-Forwarded-For of any client on loopback and puts the header's address in `client`; unless the operator named
    trusted proxies (LAB_TRUSTED_PROXIES), a `client` that is the header's own last address came from such a
    rewrite, and the connection was loopback's.

    >>> connection_address({"client": ("203.0.113.7", 1), "headers": [(b"x-forwarded-for", b"203.0.113.7")]})
    '127.0.0.1'
    >>> connection_address({"client": ("198.51.100.2", 1), "headers": []})
    '198.51.100.2'
    """
    client = (scope.get("client") or ("unknown", 0))[0]
    if trusted_proxies():
        return client
    forwarded = [part.strip() for part in header(scope.get("headers", []), b"x-forwarded-for").split(",")
                 if part.strip()]
    return "127.0.0.1" if forwarded and forwarded[-1] == client else client


def trusted_proxies() -> str:
    """The proxies whose X-Forwarded-For is believed (uvicorn's FORWARDED_ALLOW_IPS): LAB_TRUSTED_PROXIES, else
    none (uvicorn's own default trusts any client on loopback, whose forwarded address it then takes as given)."""
    return os.environ.get("LAB_TRUSTED_PROXIES", "").strip()


def login_page(next_path: str, message: str = "") -> bytes:
    note = f'<p role="alert" style="color:#b00020">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · RAG vs Fine-Tuning Lab</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem">
<h1>Sign in</h1><p>This lab is shared with a password. Ask whoever shared it.</p>{note}
<form method="post" action="{LOGIN_PATH}"><input type="hidden" name="next" value="{html.escape(safe_next(next_path))}">
<label>Password <input type="password" name="password" autofocus required></label>
<button type="submit">Enter</button></form></body></html>""".encode()


class Gate:
    """ASGI middleware: Host check always; the password gate when a password is configured.

    `password` is read from the environment (lab.auth) when not given; an unreadable password file keeps every
    route but health refused, with the reason on the form."""

    def __init__(self, app, allowed_hosts: Iterable[str] = LOOPBACK, password: str | None = None,
                 key: bytes | None = None, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.allowed = list(allowed_hosts) or list(LOOPBACK)
        self.locked_reason = ""
        if password is None:
            try:
                password = configured_password()
            except LabError as exc:
                self.locked_reason, password = str(exc), secrets.token_urlsafe(32)  # nobody can sign in
        self.password = password
        self.signer = Signer(key or secrets.token_bytes(32))
        self.throttle = Throttle(clock)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != VOUCH]
        scope = {**scope, "headers": headers}
        if not host_allowed(headers, self.allowed):
            return await self._refuse(scope, receive, send, 403, "This host name is not allowed. Open the lab at "
                                      "http://localhost (or add the name to server.allowedHosts).")
        if not same_origin(headers, scope.get("scheme", "http")):
            return await self._refuse(scope, receive, send, 403, "This request comes from another site or port; "
                                      "open the lab at its own address.")
        if self.password is None or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == LOGIN_PATH:
            return await self._login(scope, receive, send)
        if self.signer.valid(cookie(headers, COOKIE)):
            return await self.app({**scope, "headers": [*headers, (VOUCH, _MARK.encode())]}, receive, send)
        if scope["type"] == "http" and scope["method"] == "GET" and "text/html" in header(headers, b"accept"):
            target = scope["path"] + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string")
                                      else "")
            return await _respond(send, 303, b"", [(b"location", f"{LOGIN_PATH}?next={quote(target)}".encode())])
        return await self._refuse(scope, receive, send, 401, "Sign in first: open the lab's address in a browser "
                                  "and enter the password.")

    async def _login(self, scope, receive, send):
        client = connection_address(scope)
        if scope["method"] == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            return await _page(send, 200, login_page(query.get("next", ["/"])[0], self.locked_reason))
        if scope["method"] != "POST":
            return await _respond(send, 405, b"Method not allowed", [(b"allow", b"GET, POST")])
        body = await _read_body(receive, MAX_FORM_BYTES)
        form = parse_qs(body.decode("utf-8", "replace")) if body is not None else {}
        next_path = safe_next(form.get("next", ["/"])[0])
        wait = self.throttle.wait_s(client)
        if wait > 0:
            return await _page(send, 429, login_page(next_path, f"Too many wrong passwords from this address: try "
                                                     f"again in {wait:.0f} s."),
                               [(b"retry-after", str(int(wait) + 1).encode())])
        if self.locked_reason or not password_matches(form.get("password", [""])[0], self.password):
            self.throttle.failed(client)
            return await _page(send, 401, login_page(next_path, self.locked_reason or "Wrong password."))
        self.throttle.passed(client)
        value = f"{COOKIE}={self.signer.token()}; Path=/; HttpOnly; SameSite=Strict; Max-Age={MAX_AGE_S}"
        return await _respond(send, 303, b"", [(b"location", next_path.encode()), (b"set-cookie", value.encode())])

    async def _refuse(self, scope, receive, send, status: int, text: str):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            return await send({"type": "websocket.close", "code": 1008, "reason": text[:120]})
        return await _respond(send, status, text.encode(), [(b"content-type", b"text/plain; charset=utf-8")])


async def _read_body(receive, limit: int) -> bytes | None:
    """The request body, or None when it is over `limit` bytes."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return body


async def _page(send, status: int, body: bytes, extra: list | None = None):
    await _respond(send, status, body, [(b"content-type", b"text/html; charset=utf-8"),
                                        (b"cache-control", b"no-store"), *(extra or [])])


async def _respond(send, status: int, body: bytes, headers: list):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
