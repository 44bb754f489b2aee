"""Redirect URIs that differ from a registered one in one way each, to prove that the server compares
the redirect_uri of an authorization request with the registration as exact strings (RFC 6749 section
3.1.2.3, RFC 9700 section 2.1; OpenID Connect Core section 3.1.2.1: Simple String Comparison)."""

from urllib.parse import SplitResult, urlsplit, urlunsplit

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")


def _netloc(parts: SplitResult, host: str | None = None, port: int | None = None, user: str = "") -> str:
    host = _host(parts) if host is None else host
    port = parts.port if port is None else port
    return f"{user}{host}" + (f":{port}" if port else "")


def _host(parts: SplitResult) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    return netloc.rsplit(":", 1)[0] if parts.port else netloc


def _another_port(parts: SplitResult) -> str | None:
    if parts.scheme == "http" and _host(parts).lower() in LOOPBACK_HOSTS:
        return None  # RFC 8252 section 7.3 and RFC 9700 section 2.1: a loopback URI's port may vary
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if not parts.netloc:
        return None  # a private-use scheme without authority (com.example.app:/callback) has no port
    return urlunsplit(parts._replace(netloc=_netloc(parts, _host(parts), (parts.port or default or 8000) + 1)))


def _percent_encoded(parts: SplitResult) -> str | None:
    index = next((i for i, c in enumerate(parts.path) if c.isalnum()), None)
    if index is None:
        return None
    encoded = parts.path[:index] + f"%{ord(parts.path[index]):02X}" + parts.path[index + 1 :]
    return urlunsplit(parts._replace(path=encoded))


def _upper_case(parts: SplitResult) -> str | None:
    if any(c.islower() for c in parts.path):
        return urlunsplit(parts._replace(path=parts.path.upper()))
    return urlunsplit(parts._replace(netloc=parts.netloc.upper())) if any(c.islower() for c in parts.netloc) else None


def _parent_path(parts: SplitResult) -> str | None:
    path = parts.path.rstrip("/")
    if not path:
        return None
    return urlunsplit(parts._replace(path=path.rpartition("/")[0] or "/", query=""))


VARIATIONS = {
    "with another scheme": lambda p: urlunsplit(
        p._replace(scheme={"https": "http", "http": "https"}.get(p.scheme, p.scheme + "x"))
    ),
    "on another host": lambda p: urlunsplit(p._replace(netloc=_netloc(p, "attacker.invalid"))) if p.netloc else None,
    "on a subdomain": lambda p: urlunsplit(p._replace(netloc=_netloc(p, "evil." + _host(p)))) if p.netloc else None,
    "on another port": _another_port,
    "with a sub-path": lambda p: urlunsplit(p._replace(path=p.path.rstrip("/") + "/more")),
    "with the parent path": _parent_path,
    "with the trailing slash toggled": lambda p: urlunsplit(
        p._replace(path=p.path[:-1] if p.path.endswith("/") else p.path + "/")
    ),
    "with an added query": lambda p: urlunsplit(p._replace(query=(p.query + "&" if p.query else "") + "extra=1")),
    "with a changed query": lambda p: urlunsplit(p._replace(query=p.query + "x")) if p.query else None,
    "with a fragment": lambda p: urlunsplit(p._replace(fragment="fragment")),
    "in upper case": _upper_case,
    "with a percent-encoded character": _percent_encoded,
    "with a user@ before the host": lambda p: (
        urlunsplit(p._replace(netloc=_netloc(p, user="user@"))) if p.netloc else None
    ),
    "with dot segments": lambda p: urlunsplit(p._replace(path="/x/.." + (p.path if p.path.startswith("/") else "/"))),
}


def varied(registered: str, variation: str) -> str | None:
    """The registered URI changed as `variation` says, or None where the change does not apply to it or
    leaves it as it was (a variation equal to the registration tests nothing)."""
    parts = urlsplit(registered)
    changed = VARIATIONS[variation](parts)
    return changed if changed and changed != registered else None
