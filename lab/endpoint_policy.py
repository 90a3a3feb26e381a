"""Which endpoint hosts a visitor of the web app may use, and which server-side keys may go where.

The operator decides, in the lab server's environment; a visitor only picks among what the operator allowed:

    LAB_ENDPOINT_KEYS="OPENAI_API_KEY=api.openai.com, GPU_KEY=gpu.internal:8000"
        environment variables a visitor may name as an endpoint's API key, each bound to the one host (host, or
        host:port) its value may be sent to. Unset: a visitor can use no key at all.
    LAB_ENDPOINT_HOSTS="127.0.0.1:8000, gpu.internal"
        the hosts a visitor may point the lab at (the keys' hosts are allowed too). Unset: any host, without a key.

The command line's user runs the lab in their own shell and is the operator: `--endpoint-key-env` takes any
variable, but its value still goes only to the URL's own host (the client follows no redirect).

    >>> policy = EndpointPolicy.parse("K=api.x.com", "127.0.0.1:8000")
    >>> policy.check("https://api.x.com/v1", "K")
    >>> policy.check("http://127.0.0.1:8000/v1", None)
    >>> policy.check("http://127.0.0.1:8000/v1", "K")
    Traceback (most recent call last):
    lab.errors.InputError: The key variable K may be sent only to api.x.com, not to 127.0.0.1:8000: the lab's operator bound it to that host (LAB_ENDPOINT_KEYS).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field

from lab.errors import InputError

VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def url_host(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, the port filled in from the scheme; InputError for anything else.

    >>> url_host("https://API.x.com/v1")
    ('api.x.com', 443)
    >>> url_host("http://[::1]:8000")
    ('::1', 8000)
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InputError(f"The endpoint URL {url!r} is not valid ({exc}): write it as http://host:port/v1.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"The endpoint URL {url!r} must start with http:// or https:// and name a host, e.g. "
                         "http://127.0.0.1:8000/v1.")
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def host_of(base_url: str) -> str:
    """Host and port of a URL, no credentials, path or query: host_of("https://u:p@api.x.com/v1") -> 'api.x.com'."""
    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _matches(entry: str, host: str, port: int) -> bool:
    """`entry` is `host` (any port) or `host:port` (IPv6 literals in brackets): _matches("[::1]:80", "::1", 80)."""
    try:
        parts = urllib.parse.urlsplit("//" + entry.strip())
        wanted = parts.port
    except ValueError:
        return False
    return (parts.hostname or "").lower() == host and wanted in (None, port)


@dataclass(frozen=True)
class EndpointPolicy:
    keys: dict[str, str] = field(default_factory=dict)   # variable name -> the host it may be sent to
    hosts: tuple[str, ...] | None = None                  # None: any host

    @classmethod
    def parse(cls, keys: str | None, hosts: str | None) -> "EndpointPolicy":
        bound = {}
        for item in filter(None, (part.strip() for part in (keys or "").split(","))):
            name, sep, host = item.partition("=")
            if not sep or not VARIABLE.match(name.strip()) or not host.strip():
                raise InputError(f"LAB_ENDPOINT_KEYS holds {item!r}: write each entry as VARIABLE=host or "
                                 "VARIABLE=host:port, separated by commas.")
            bound[name.strip()] = host.strip()
        allowed = None if hosts is None or not hosts.strip() else \
            tuple(filter(None, (h.strip() for h in hosts.split(","))))
        return cls(bound, allowed)

    @classmethod
    def from_env(cls) -> "EndpointPolicy":
        return cls.parse(os.environ.get("LAB_ENDPOINT_KEYS"), os.environ.get("LAB_ENDPOINT_HOSTS"))

    def key_choices(self) -> list[str]:
        return sorted(self.keys)

    def check(self, url: str, key_env: str | None) -> None:
        """None when a visitor may send a request to `url` with the key in `key_env`; InputError otherwise."""
        host, port = url_host(url)
        where = f"{host}:{port}"
        if key_env:
            if key_env not in self.keys:
                offered = ", ".join(self.key_choices()) or "none"
                raise InputError(f"The key variable {key_env} is not one the lab's operator allowed (allowed: "
                                 f"{offered}). The operator binds a key to its host with LAB_ENDPOINT_KEYS="
                                 f"{key_env}=host before starting the lab.")
            if not _matches(self.keys[key_env], host, port):
                raise InputError(f"The key variable {key_env} may be sent only to {self.keys[key_env]}, not to "
                                 f"{where}: the lab's operator bound it to that host (LAB_ENDPOINT_KEYS).")
            return
        if self.hosts is not None and not any(_matches(h, host, port) for h in (*self.hosts, *self.keys.values())):
            raise InputError(f"The endpoint host {where} is not one the lab's operator allowed (LAB_ENDPOINT_HOSTS: "
                             f"{', '.join(self.hosts)}). Ask the operator to add it.")
