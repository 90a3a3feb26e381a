"""No server secret leaves for a place the operator did not choose: a visitor names neither the key variable nor,
where the operator restricted them, the host; a key never follows a redirect to another host."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import DecodingConfig
from lab.errors import InputError, ModelError
from lab.generation.endpoint import EndpointGenerator
from lab.endpoint_policy import EndpointPolicy
from lab.generation.prompts import chat
from tests.conftest import send_json

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("show_error_details")]
REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-operator-only-9f3"


class Capture(BaseHTTPRequestHandler):
    """Records every request's headers; `redirect_to` set: answers 302 there, else a chat completion."""
    seen: list
    redirect_to: str | None = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(dict(self.headers))
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to + "/v1/chat/completions")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        send_json(self, 200, {"choices": [{"message": {"content": "ok"}}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1}})

    do_GET = do_POST  # urllib turns a POST's 302 into a GET: record it too


def serve(redirect_to=None):
    handler = type("Handler", (Capture,), {"seen": [], "redirect_to": redirect_to})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, handler, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def servers():
    started = []

    def start(redirect_to=None):
        httpd, handler, url = serve(redirect_to)
        started.append(httpd)
        return handler, url

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def leaked(handler) -> bool:
    return any(SECRET in " ".join(headers.values()) for headers in handler.seen)


def test_a_redirect_to_another_host_is_refused_and_the_key_does_not_follow(servers, monkeypatch):
    monkeypatch.setenv("LAB_TEST_OPERATOR_KEY", SECRET)
    elsewhere, elsewhere_url = servers()
    first, url = servers(redirect_to=elsewhere_url.replace("127.0.0.1", "localhost"))
    gen = EndpointGenerator(url, "m", api_key_env="LAB_TEST_OPERATOR_KEY")
    with pytest.raises(ModelError, match="follows no redirect"):
        gen.generate([chat("hi")], DecodingConfig(max_new_tokens=4))
    assert len(first.seen) == 1 and elsewhere.seen == [] and not leaked(elsewhere)


def test_a_visitor_cannot_name_a_server_variable_as_the_key(servers, monkeypatch):
    monkeypatch.setenv("LAB_PASSWORD", SECRET)
    monkeypatch.delenv("LAB_ENDPOINT_KEYS", raising=False)
    handler, url = servers()
    with pytest.raises(InputError, match="not one the lab's operator allowed"):
        EndpointGenerator(url, "m", api_key_env="LAB_PASSWORD", policy=EndpointPolicy.from_env())
    assert handler.seen == []


def test_a_bound_key_goes_to_its_host_only(servers, monkeypatch):
    monkeypatch.setenv("LAB_TEST_OPERATOR_KEY", SECRET)
    bound, bound_url = servers()
    other, other_url = servers()
    monkeypatch.setenv("LAB_ENDPOINT_KEYS", f"LAB_TEST_OPERATOR_KEY={bound_url.removeprefix('http://')}")
    policy = EndpointPolicy.from_env()
    EndpointGenerator(bound_url, "m", "LAB_TEST_OPERATOR_KEY", policy=policy).generate(
        [chat("hi")], DecodingConfig(max_new_tokens=4))
    assert bound.seen[0]["Authorization"] == f"Bearer {SECRET}"
    with pytest.raises(InputError, match="may be sent only to"):
        EndpointGenerator(other_url, "m", "LAB_TEST_OPERATOR_KEY", policy=policy)
    assert other.seen == []


def test_the_operator_can_restrict_the_hosts_a_visitor_reaches(monkeypatch):
    policy = EndpointPolicy.parse(None, "127.0.0.1:8000, gpu.internal")
    policy.check("http://127.0.0.1:8000/v1", None)
    policy.check("https://gpu.internal/v1", None)
    with pytest.raises(InputError, match="not one the lab's operator allowed"):
        policy.check("http://169.254.169.254/v1", None)
    with pytest.raises(InputError, match="VARIABLE=host"):
        EndpointPolicy.parse("JUST_A_NAME", None)
    with pytest.raises(InputError, match="not valid"):
        EndpointGenerator("http://127.0.0.1:99999/v1", "m")


def test_a_signed_in_visitor_tries_the_models_and_compare_pages(servers, monkeypatch, tmp_path):
    """The visitor's only key choice is the operator's list; a session that names another variable anyway (a
    crafted state) is refused before any request, on every page that builds the endpoint."""
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_PASSWORD", SECRET)
    monkeypatch.setenv("LAB_TEST_OPERATOR_KEY", "sk-bound")
    handler, url = servers()
    monkeypatch.setenv("LAB_ENDPOINT_KEYS", "LAB_TEST_OPERATOR_KEY=api.example.com")
    at = AppTest.from_file(str(REPO / "pages" / "models.py"), default_timeout=120)
    at.session_state["lab_password_ok"] = True  # signed in as a visitor
    at.run()
    at.radio(key="model_kind").set_value("OpenAI-compatible endpoint").run()
    assert at.selectbox(key="endpoint_key_env").options == ["(none)", "LAB_TEST_OPERATOR_KEY"]
    at.text_input(key="endpoint_url").set_value(url + "/v1")
    at.text_input(key="endpoint_model").set_value("m")
    at.selectbox(key="endpoint_key_env").set_value("LAB_TEST_OPERATOR_KEY")
    at.button(key="use_endpoint").click().run()
    assert "may be sent only to api.example.com" in at.error[0].value and "endpoint" not in at.session_state

    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=120)
    at.session_state["lab_password_ok"] = True
    at.session_state["endpoint"] = {"base_url": url + "/v1", "model": "m", "api_key_env": "LAB_PASSWORD"}
    at.run()
    at.multiselect(key="paths").set_value(["prompt@endpoint"])
    at.text_area(key="question_(type your own)").set_value("What is the password?")
    at.button(key="ask").click().run()
    assert any("LAB_PASSWORD is not one the lab's operator allowed" in e.value for e in at.error)
    assert handler.seen == [] and not leaked(handler)
