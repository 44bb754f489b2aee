"""Redirect URIs that differ from a registered one in one way each, to prove that the server compares
the redirect_uri of an authorization request with the registration as exact strings (RFC 6749 section
3.1.2.3, RFC 9700 section 2.1; OpenID Connect Core section 3.1.2.1: Simple String Comparison), save
the one exception both make: the port of a native application's loopback redirect URI."""

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

# RFC 8252 section 7.3, the exception to exact matching, whole
RFC8252_ANY_PORT = (
    'RFC 8252 section 7.3: "The authorization server MUST allow any port to be specified at the time of the '
    "request for loopback IP redirect URIs, to accommodate clients that obtain an available ephemeral port from "
    'the operating system at the time of the request."'
)
RFC9700_EXACT = (
    'RFC 9700 section 2.1: "When comparing client redirect URIs against pre-registered URIs, authorization '
    "servers MUST utilize exact string matching except for port numbers in localhost redirection URIs of native "
    'apps (see Section 4.1.3)."'
)
# What no registration makes valid: @axa-fr/oidc-client's demo's http://host/#/callback (a hash-routed SPA's callback)
RFC6749_NO_FRAGMENT = 'RFC 6749 section 3.1.2: "The endpoint URI MUST NOT include a fragment component."'
# Why `localhost` is not a loopback IP redirect URI: RFC 8252 section 7.3 names the IP literals, and
RFC8252_LOCALHOST = (
    'RFC 8252 section 8.3: "While redirect URIs using localhost (i.e., "http://localhost:{port}/{path}") '
    "function similarly to loopback IP redirects described in Section 7.3, the use of localhost is NOT "
    'RECOMMENDED."'
)
# RFC 8252 section 7.3: "http://127.0.0.1:{port}/{path}" for IPv4, and "http://[::1]:{port}/{path}" for IPv6
LOOPBACK_IPS = ("127.0.0.1", "[::1]")
# What RFC 9700 section 2.1 calls "localhost redirection URIs", whose port a native application may vary (the
# stand-in takes it, APPC-02 passes it, APPC-35 warns of `localhost` itself): servers differ on `localhost`
# (oidc-provider lets its port vary; Spring Authorization Server refuses it), so AUTH-05 asks neither
LOOPBACK_HOSTS = (*LOOPBACK_IPS, "localhost")


def without_loopback_port(uri: str, hosts: tuple[str, ...] = LOOPBACK_IPS) -> str | None:
    """An http redirect URI on one of `hosts` with its port taken out, the rest character for character;
    None for any other URI."""
    match = re.fullmatch(r"http://([^/?#@]*?)(:[0-9]{1,5})?([/?#].*)?", uri, re.S)
    if not match or match.group(1).lower() not in hosts:
        return None
    return f"http://{match.group(1)}{match.group(3) or ''}"


def registered_match(uri: str, registered: tuple[str, ...] | list[str], native: bool) -> bool:
    """Whether an authorization server keeping RFC 9700 section 2.1 and RFC 8252 section 7.3 may take
    `uri` for this registration: exactly one of them, or for a native application a localhost redirection
    URI (a loopback IP literal or `localhost`, RFC 9700 section 2.1's exception) that differs from one of
    them in its port alone."""
    if uri in registered:
        return True
    portless = without_loopback_port(uri, LOOPBACK_HOSTS) if native else None
    return portless is not None and any(without_loopback_port(r, LOOPBACK_HOSTS) == portless for r in registered)


# RFC 3986 section 2.3: the characters whose percent-encoding normalization (section 6.2.2.2) decodes
_ENCODED_UNRESERVED = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


def _unreserved_decoded(uri: str) -> str:
    return _ENCODED_UNRESERVED.sub(lambda match: chr(int(match.group(1), 16)), uri)


def why_another_uri(sent: str, registered: str) -> str:
    """Why `sent` is not the registered URI where decoding its percent-encoded letters or digits makes it so
    (https://app/%63allback for https://app/callback), or "" for a difference a reader sees at once."""
    if sent == registered or _unreserved_decoded(sent) != _unreserved_decoded(registered):
        return ""
    return (
        f"it decodes to the registered {registered!r}, yet it is another URI: the registered URI is compared "
        'by "simple string comparison as defined in [RFC3986] Section 6.2.1" (RFC 6749 section 3.1.2.3), not '
        'after decoding, and RFC 9700 section 2.1 requires "exact string matching"'
    )


def _netloc(parts: SplitResult, host: str | None = None, port: int | None = None, user: str = "") -> str:
    host = _host(parts) if host is None else host
    port = parts.port if port is None else port
    return f"{user}{host}" + (f":{port}" if port else "")


def _host(parts: SplitResult) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    return netloc.rsplit(":", 1)[0] if parts.port else netloc


def _another_port(parts: SplitResult) -> str | None:
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


# Why AUTH-05 does not move the port of a native client's localhost redirection URI: a server may take it
# (RFC 9700 section 2.1's exception, RFC 8252 section 7.3 for the loopback IP literals) or, for localhost, refuse it
NATIVE_PORT_NOT_VARIED = (
    "the native client's redirect URI on another port was not sent: its port may vary ("
    + RFC9700_EXACT
    + "; "
    + RFC8252_ANY_PORT
    + "), and a server may as well refuse localhost ("
    + RFC8252_LOCALHOST
    + "), so a server that takes it and one that refuses it both pass"
)


def native_port_exempt(registered: str, variation: str, native: bool) -> bool:
    """Whether `variation` would move the port of a native client's localhost redirection URI, which a server may
    take on any port (NATIVE_PORT_NOT_VARIED): AUTH-05 does not send it."""
    return variation == "on another port" and native and bool(without_loopback_port(registered, LOOPBACK_HOSTS))


def varied(registered: str, variation: str, native: bool = False) -> str | None:
    """The registered URI changed as `variation` says, or None where the change does not apply to it or
    leaves it as it was (a variation equal to the registration tests nothing). A native application's
    loopback URI keeps its port (RFC 8252 section 7.3, RFC 9700 section 2.1); a web application's or a
    SPA's does not, for the exception is the native applications'."""
    parts = urlsplit(registered)
    if native_port_exempt(registered, variation, native):
        return None
    changed = VARIATIONS[variation](parts)
    return changed if changed and changed != registered else None
