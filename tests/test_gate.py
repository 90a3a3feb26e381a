"""The gate in front of the server: with LAB_PASSWORD set, uploads, pages and the WebSocket are
refused before the password; guessing is throttled per client address; hosts other than loopback are refused.

First the middleware on its own (a fake inner app records what got through), then the probes of the attack run
against a real `streamlit run pages/ui/server.py` (what `make run` serves), then a real browser signing in."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

from lab.gate import COOKIE, LOGIN_PATH, VOUCH, Gate, vouched
from tests.conftest import REPO, SERVED, chromium, streamlit_app

PASSWORD = "correct horse battery"


class Inner:
    """The app behind the gate: answers 200 and keeps the scopes that reached it."""

    def __init__(self):
        self.scopes: list[dict] = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            return await send({"type": "websocket.accept"})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def call(gate, method="GET", path="/", host="localhost:8501", headers=(), body=b"", client="10.0.0.1",
         kind="http") -> tuple[int | str, dict, bytes]:
    """(status, headers, body) of one request; for a WebSocket, status is 'accept' or 'close'."""
    scope = {"type": kind, "path": path, "query_string": b"", "client": (client, 5555),
             "headers": [(b"host", host.encode()), *((k.encode(), v.encode()) for k, v in headers)]}
    if kind == "http":
        scope["method"] = method
    incoming = [{"type": "websocket.connect"}] if kind == "websocket" else [{"type": "http.request", "body": body}]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    if kind == "websocket":
        return sent[0]["type"].split(".")[1], {}, b""
    start = sent[0]
    return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent[1:]))


def sign_in(gate, password=PASSWORD, client="10.0.0.1"):
    form = urllib.parse.urlencode({"password": password, "next": "/Compare"}).encode()
    return call(gate, "POST", LOGIN_PATH, body=form, client=client,
                headers=[("content-type", "application/x-www-form-urlencoded")])


def test_without_a_password_everything_passes_but_foreign_hosts():
    inner = Inner()
    gate = Gate(inner, password=None, key=b"k" * 32)
    gate.password = None  # the environment of the test run may hold one
    assert call(gate, "PUT", "/_stcore/upload_file/s/f")[0] == 200
    assert call(gate, kind="websocket", path="/_stcore/stream")[0] == "accept"
    assert call(gate, host="evil.example")[0] == 403
    assert call(gate, host="evil.example:8501", kind="websocket", path="/_stcore/stream")[0] == "close"
    assert call(gate, host="[::1]:8501")[0] == 200 and call(gate, host="127.0.0.1")[0] == 200
    assert call(gate, host="")[0] == 403


def test_with_a_password_nothing_but_the_form_and_health_is_served_before_it_is_given():
    inner = Inner()
    gate = Gate(inner, password=PASSWORD, key=b"k" * 32)
    page = call(gate, "GET", "/Compare", headers=[("accept", "text/html")])
    assert page[0] == 303 and page[1]["location"] == f"{LOGIN_PATH}?next=/Compare"
    assert call(gate, "PUT", "/_stcore/upload_file/s/f", headers=[("x-xsrftoken", "t"),
                                                                 ("cookie", "_streamlit_xsrf=t")])[0] == 401
    assert call(gate, "GET", "/media/abc.png")[0] == 401
    assert call(gate, kind="websocket", path="/_stcore/stream")[0] == "close"
    assert call(gate, "GET", "/_stcore/health")[0] == 200
    form = call(gate, "GET", LOGIN_PATH)
    assert form[0] == 200 and b'type="password"' in form[2]
    assert inner.scopes == [inner.scopes[0]] and inner.scopes[0]["path"] == "/_stcore/health"


def test_the_right_password_sets_a_cookie_that_opens_every_route_and_vouches_for_the_request():
    inner = Inner()
    gate = Gate(inner, password=PASSWORD, key=b"k" * 32)
    status, headers, _ = sign_in(gate)
    assert status == 303 and headers["location"] == "/Compare"
    assert re.match(rf"{COOKIE}=v1\.\d+\.[0-9a-f]{{64}}; Path=/; HttpOnly; SameSite=Strict", headers["set-cookie"])
    jar = [("cookie", "_streamlit_xsrf=t; " + headers["set-cookie"].split(";")[0])]
    assert call(gate, "PUT", "/_stcore/upload_file/s/f", headers=jar)[0] == 200
    assert call(gate, kind="websocket", path="/_stcore/stream", headers=jar)[0] == "accept"
    marks = [dict(s["headers"]).get(VOUCH) for s in inner.scopes]
    assert all(m and vouched(m.decode()) for m in marks)  # the app skips its own form for these
    # a cookie signed by another key (another server, or before a restart) and a forged vouch are worthless
    other = Gate(Inner(), password=PASSWORD, key=b"x" * 32)
    assert call(other, "PUT", "/_stcore/upload_file/s/f", headers=jar)[0] == 401
    forged = Inner()
    gate.app = forged
    call(gate, "GET", "/_stcore/health", headers=[("x-lab-gate", marks[0].decode())])
    assert VOUCH not in dict(forged.scopes[0]["headers"])  # stripped: only the gate adds it
    assert not vouched("") and not vouched(None) and not vouched("guess")


def test_guessing_is_throttled_per_client_address_not_per_session():
    clock = Clock()
    gate = Gate(Inner(), password=PASSWORD, key=b"k" * 32, clock=clock)
    assert sign_in(gate, "guess 1")[0] == 401
    # a fresh session (no cookie at all) from the same address must wait: refused unchecked, even the right one
    status, headers, body = sign_in(gate, PASSWORD)
    assert status == 429 and headers["retry-after"] == "2" and b"Too many wrong passwords" in body
    assert sign_in(gate, "guess", client="10.0.0.2")[0] == 401  # another address is not held up by the first
    clock.now += 1.01
    assert sign_in(gate, "guess 2")[0] == 401
    clock.now += 1.5
    assert sign_in(gate, PASSWORD)[0] == 429  # the second failure costs 2 s
    clock.now += 0.6
    assert sign_in(gate, PASSWORD)[0] == 303
    assert gate.throttle.wait_s("10.0.0.1") == 0 and "10.0.0.1" not in gate.throttle.failures


def test_the_login_form_never_redirects_off_the_server_and_refuses_big_bodies():
    gate = Gate(Inner(), password=PASSWORD, key=b"k" * 32)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
                   "/\n/evil.example", "/ /evil.example", "/\x7f/evil.example"):
        form = urllib.parse.urlencode({"password": PASSWORD, "next": target}).encode()
        status, headers, _ = call(gate, "POST", LOGIN_PATH, body=form)
        assert status == 303 and headers["location"] == "/"
    assert call(gate, "POST", LOGIN_PATH, body=b"password=" + b"x" * 5000, client="10.9.9.9")[0] == 401
    assert call(gate, "DELETE", LOGIN_PATH)[0] == 405
    page = call(gate, "GET", LOGIN_PATH)[2].decode()
    assert "<script" not in page


def test_a_request_from_another_origin_is_refused_even_with_the_cookie():
    """A page on another localhost port (same site for SameSite cookies) opening the lab's WebSocket or posting
    to it with the user's cookie: refused; the lab's own pages (same origin, or no Origin) pass."""
    gate = Gate(Inner(), password=PASSWORD, key=b"k" * 32)
    signed = sign_in(gate)[1]["set-cookie"].split(";")[0]
    own = [("cookie", signed), ("origin", "http://localhost:8501")]
    assert call(gate, path="/_stcore/stream", kind="websocket", headers=own)[0] == "accept"
    assert call(gate, path="/_stcore/stream", kind="websocket", headers=[("cookie", signed)])[0] == "accept"
    for origin in ("http://localhost:9999", "http://evil.example", "null", "https://localhost:8501"):
        assert call(gate, path="/_stcore/stream", kind="websocket",
                    headers=[("cookie", signed), ("origin", origin)])[0] == "close", origin
        assert call(gate, "PUT", "/_stcore/upload_file/s/f", headers=[("cookie", signed), ("origin", origin)])[0] \
            == 403, origin
    open_gate = Gate(Inner(), password="")  # no password: the Origin check holds all the same
    assert call(open_gate, path="/_stcore/stream", kind="websocket", headers=[("origin", "http://localhost:1")])[0] \
        == "close"


def test_forwarded_addresses_are_believed_only_from_configured_proxies(monkeypatch):
    from lab.gate import trusted_proxies

    monkeypatch.delenv("LAB_TRUSTED_PROXIES", raising=False)
    assert trusted_proxies() == ""
    monkeypatch.setenv("LAB_TRUSTED_PROXIES", "10.0.0.5, 10.0.0.6")
    assert trusted_proxies() == "10.0.0.5, 10.0.0.6"


def test_an_unreadable_password_file_keeps_everything_locked_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_PASSWORD_FILE", str(tmp_path / "missing"))
    gate = Gate(Inner())
    assert call(gate, "PUT", "/_stcore/upload_file/s/f")[0] == 401
    status, _, body = sign_in(gate, "anything")
    assert status == 401 and b"cannot be read" in body


# --- the probes of the attack run, against the real server ---------------------------------------------------------
def _upgrade(port: int, host: str, cookie: str = "", origin: str = "") -> str:
    """The status line a WebSocket handshake to /_stcore/stream gets."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Protocol: streamlit\r\n"
                      + (f"Cookie: {cookie}\r\n" if cookie else "") + (f"Origin: {origin}\r\n" if origin else "")
                      + "\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n")[0]


def _request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.getheaders(), response.read()


@pytest.mark.server
@pytest.mark.browser
def test_the_served_lab_refuses_every_probe_before_the_password_and_works_after_it(tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data"), "LAB_PASSWORD": PASSWORD}
    with streamlit_app(SERVED, env, tmp_path / "streamlit.log") as url:
        port = int(url.rsplit(":", 1)[1])
        # the XSRF cookie from health does not open uploads any more (it did: PUT -> 204)
        _, headers, _ = _request(port, "GET", "/_stcore/health")
        xsrf = next((v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "xsrf" in v), "")
        token = xsrf.partition("=")[2]
        upload = _request(port, "PUT", "/_stcore/upload_file/s/f", {"Cookie": xsrf, "X-Xsrftoken": token,
                                                                    "Content-Type": "multipart/form-data; boundary=b"},
                          b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\nhi\r\n--b--")
        assert upload[0] == 401, upload
        assert _upgrade(port, f"127.0.0.1:{port}").split()[1] == "403"
        assert _upgrade(port, "evil.example").split()[1] == "403"
        assert _request(port, "GET", "/", {"Host": "evil.example"})[0] == 403
        assert _request(port, "GET", "/Compare", {"Accept": "text/html"})[0] == 303
        # guessing: a second fresh client right after a wrong guess is held up, whatever its session
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert _request(port, "POST", LOGIN_PATH, form, b"password=guess")[0] == 401
        assert _request(port, "POST", LOGIN_PATH, form, b"password=" + PASSWORD.replace(" ", "+").encode())[0] == 429
        for i in range(5):  # a rotating X-Forwarded-For is not another address (it was: 40,939 guesses in 20 s)
            rotated = {**form, "X-Forwarded-For": f"203.0.113.{i}"}
            assert _request(port, "POST", LOGIN_PATH, rotated, b"password=guess")[0] == 429
        time.sleep(1.1)
        status, headers, _ = _request(port, "POST", LOGIN_PATH, form,
                                      b"password=" + PASSWORD.replace(" ", "+").encode())
        assert status == 303
        signed = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
        assert _upgrade(port, f"127.0.0.1:{port}", signed).split()[1] == "101"
        assert _upgrade(port, "evil.example", signed).split()[1] == "403"
        assert _upgrade(port, f"127.0.0.1:{port}", signed, origin="http://127.0.0.1:1").split()[1] == "403"
        assert _upgrade(port, f"127.0.0.1:{port}", signed, origin=f"http://127.0.0.1:{port}").split()[1] == "101"
        # a real browser: the form, a wrong password, the right one, then the lab itself (no second form)
        with chromium() as browser:
            page = browser.new_page()
            page.goto(url + "/")
            page.fill("input[name=password]", "wrong")
            time.sleep(2.1)  # past the throttle of the probes above
            page.click("button[type=submit]")
            page.get_by_text("Wrong password.").wait_for()
            time.sleep(1.1)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.get_by_text("One-click demo").wait_for(timeout=120_000)
            assert page.get_by_text("Sign in").count() == 0
    log = (tmp_path / "streamlit.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_make_run_serves_the_gated_entry():
    makefile = (REPO / "Makefile").read_text()
    assert "streamlit run pages/ui/server.py --server.address 127.0.0.1" in makefile
    out = subprocess.run([sys.executable, "-c", "import ast, sys; t = ast.parse(open(sys.argv[1]).read()); "
                          "print([n.targets[0].id for n in t.body if isinstance(n, ast.Assign)])", str(SERVED)],
                         capture_output=True, text=True, check=True)
    assert "app" in out.stdout  # what `streamlit run` discovers as the ASGI app


def test_docstring_examples():
    import doctest

    import lab.gate

    result = doctest.testmod(lab.gate)
    assert result.attempted and not result.failed
