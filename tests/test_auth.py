"""The optional sign-in: a shared password (LAB_PASSWORD / LAB_PASSWORD_FILE) or OIDC, before any page draws."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.auth import AUTHLIB_MISSING, configured_password, failure_delay, password_matches
from lab.errors import InputError

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("show_error_details")


def test_the_password_comes_from_a_file_first_then_the_environment(tmp_path):
    assert configured_password({}) is None and configured_password({"LAB_PASSWORD": ""}) is None
    assert configured_password({"LAB_PASSWORD": "env"}) == "env"
    secret = tmp_path / "pw"
    secret.write_text("from file  \nsecond line ignored\n")
    assert configured_password({"LAB_PASSWORD": "env", "LAB_PASSWORD_FILE": str(secret)}) == "from file"
    with pytest.raises(InputError, match="cannot be read"):
        configured_password({"LAB_PASSWORD_FILE": str(tmp_path / "missing")})
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(InputError, match="first line is empty"):
        configured_password({"LAB_PASSWORD_FILE": str(tmp_path / "blank")})


def test_comparison_and_delays():
    assert password_matches("pässwörd", "pässwörd") and not password_matches("", "x")
    assert not password_matches("x" * 1000, "x")
    assert [failure_delay(n) for n in (0, 1, 3, 99)] == [1.0, 1.0, 3.0, 5.0]


def app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_a_password_the_app_opens(monkeypatch):
    monkeypatch.delenv("LAB_PASSWORD", raising=False)
    monkeypatch.delenv("LAB_PASSWORD_FILE", raising=False)
    at = app()
    assert at.title[0].value == "RAG vs Fine-Tuning Lab"


@pytest.mark.slow  # runs every page
def test_with_a_password_every_page_shows_only_the_form_until_it_is_given(monkeypatch):
    monkeypatch.setenv("LAB_PASSWORD", "open sesame")
    at = app()
    assert [t.value for t in at.title] == ["Sign in"] and at.text_input(key="lab_login_password")
    assert "demo" not in [b.key for b in at.button] and not at.selectbox, "no page or sidebar widget is drawn"
    # AppTest runs a switched-to page the way a fresh server runs a first request for /corpus: as a pages/
    # file of its own (Streamlit's MPA v1 fallback), without app.py. The page sends it through the frame once,
    # and its own gate stops it after that.
    at.switch_page("pages/corpus.py").run()
    assert [t.value for t in at.title] == ["Sign in"] and "ingest" not in [b.key for b in at.button]
    at.switch_page("pages/corpus.py").run()
    assert [t.value for t in at.title] == ["Sign in"] and "ingest" not in [b.key for b in at.button]

    at.text_input(key="lab_login_password").input("open says me")
    at.button(key="lab_login_submit").click().run()
    assert "Wrong password" in at.error[0].value and [t.value for t in at.title] == ["Sign in"]
    assert at.session_state["lab_login_failures"] == 1

    at.text_input(key="lab_login_password").input("open sesame")
    at.button(key="lab_login_submit").click().run()
    assert not at.exception and "Corpus" in [t.value for t in at.title] and "ingest" in [b.key for b in at.button]
    at.switch_page("pages/home.py").run()
    assert at.title[0].value == "RAG vs Fine-Tuning Lab", "the session stays signed in"


def test_an_unreadable_password_file_keeps_the_lab_locked(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_PASSWORD_FILE", str(tmp_path / "missing"))
    at = app()
    assert "cannot be read" in at.error[0].value and not at.title and "demo" not in [b.key for b in at.button]


def test_oidc_without_authlib_says_what_to_install(monkeypatch):
    monkeypatch.delenv("LAB_PASSWORD", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "lab", "client_secret": "s", "server_metadata_url": "https://idp/.well-known"}
    at.run()
    try:
        import authlib  # noqa: F401
    except ImportError:
        assert at.error[0].value == AUTHLIB_MISSING
    else:
        assert at.button(key="lab_login_oidc")
    assert [t.value for t in at.title] == ["Sign in"] and "demo" not in [b.key for b in at.button]


def test_serving_defaults_bind_to_localhost_with_xsrf_on_and_no_tracebacks():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1" and config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none"
    assert "--server.address 127.0.0.1" in (REPO / "Makefile").read_text()


def test_the_server_refuses_websocket_hosts_other_than_loopback():
    """server.allowedHosts holds the loopback names: Streamlit's own check and the gate (lab/gate.py, which passes
    them on) read this option. tests/test_gate.py probes the served lab with `Host: evil.example`."""
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert set(config["server"]["allowedHosts"]) == {"localhost", "127.0.0.1", "::1", "[::1]"}
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["address"] == "127.0.0.1"
