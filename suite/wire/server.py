"""The server under test as the suite first meets it: its discovery document and signing keys.

Fetched once per run; a server that cannot be reached ends the run with one message that
names the issuer and the cause, instead of every scenario failing on its own.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from joserfc.jwk import KeySet

from suite.verdict.checks import NonConformance
from suite.wire.http import FIXES, EnvironmentProblem, HttpClient, redact_url


class ServerUnreachable(Exception):
    pass


class DiscoveryNotServed(Exception):
    """The issuer's server answered its discovery URL, but with a redirect or without a JSON object:
    the server's fault, judged as DISC-01 failed (every other rule blocked by it), not the network's."""


# What a discovery answer that is no document falls short of.
DISCOVERY_SERVED = (
    'OpenID Connect Discovery 1.0 section 4.2: "A successful response MUST use the 200 OK HTTP status code and '
    'return a JSON object using the application/json content type"'
)


@dataclass
class Discovery:
    url: str
    status: int
    metadata: dict
    keys: KeySet | None
    # RFC 8414 authorization server metadata, where the server publishes it: read for members
    # OpenID Connect Discovery leaves optional (grant_types_supported, revocation_endpoint, ...).
    oauth_metadata: dict = field(default_factory=dict)
    oauth_url: str = ""
    # The JWK Set document as served (keys is what joserfc imported of it), for the rules about
    # the set itself: a private or symmetric member is imported as readily as a public one.
    jwks: dict | None = None
    # The issuer the RFC 8414 document names when one is served (None when none is): a document
    # for another issuer is not used (oauth_metadata stays empty), and DISC-07 fails on it.
    oauth_issuer: object = None

    def member(self, name: str) -> Any:
        """A metadata member from OpenID Connect Discovery, else from the RFC 8414 document."""
        return self.metadata[name] if name in self.metadata else self.oauth_metadata.get(name)

    def endpoint(self, name: str) -> str:
        url = self.member(name)
        if not isinstance(url, str) or not url:
            raise NonConformance(
                f"neither discovery document ({self.url}, {self.oauth_url}) lists {name}, so the "
                "request cannot be made (RFC 8414 section 2)"
            )
        return url


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def same_server(one: str, other: str) -> bool:
    """Two issuers that name the same server the way a person may type it: a trailing slash, the
    host's case, a default port written out or left out, localhost for 127.0.0.1. They differ as
    issuers (RFC 8414 section 3.3 wants them identical), but the file's may be the typo."""

    def server(issuer: str) -> tuple | None:
        parts = urlsplit(issuer)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return None
        loopback = "loopback" if host in LOOPBACK_NAMES else host
        return parts.scheme.lower(), loopback, port, parts.path.rstrip("/"), parts.query, parts.fragment

    return server(one) is not None and server(one) == server(other)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def oauth_metadata_url(issuer: str) -> str:
    """RFC 8414 section 3: the well-known suffix goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit(parts._replace(path="/.well-known/oauth-authorization-server" + path, query="", fragment=""))


def fetch_discovery(environment) -> Discovery:
    http = HttpClient(environment.http, environment.issuer)
    url = discovery_url(environment.issuer)
    response = _get(http, url, environment.issuer)
    if response.status_code == 200:
        _require_utf8(url, response)
    try:
        metadata, unparsed = response.json(), ""
    except ValueError as error:
        metadata, unparsed = {}, str(error)
    if (
        response.status_code == 200 and not (isinstance(metadata, dict) and metadata)
    ) or 300 <= response.status_code < 400:
        raise DiscoveryNotServed(_not_a_document(url, response, unparsed or _what_json(metadata)))
    if response.status_code != 200 or not isinstance(metadata, dict) or not metadata:
        # a 404 or another refusal: most likely the issuer is not the server's, not a fault of the server
        raise ServerUnreachable(
            f"{environment.issuer} answered {response.status_code} without a JSON "
            f"discovery document at {url}; is the issuer right?"
        )
    _require_this_servers_issuer(environment.issuer, metadata.get("issuer"))
    keys, document = None, None
    if isinstance(metadata.get("jwks_uri"), str):
        jwks = _get(http, metadata["jwks_uri"], environment.issuer)
        try:
            document = jwks.json()
            _require_few_keys(environment.issuer, metadata["jwks_uri"], document)
            keys = KeySet.import_key_set(document)
        except (ValueError, TypeError, KeyError):
            keys = None  # the signature checks fail with their own message
    oauth_url = oauth_metadata_url(environment.issuer)
    oauth = _get(http, oauth_url, environment.issuer)
    try:
        oauth_metadata = oauth.json() if oauth.status_code == 200 else {}
    except ValueError:
        oauth_metadata = {}
    oauth_issuer = oauth_metadata.get("issuer", "") if isinstance(oauth_metadata, dict) and oauth_metadata else None
    if not isinstance(oauth_metadata, dict) or oauth_metadata.get("issuer") != metadata.get("issuer"):
        oauth_metadata = {}  # RFC 8414 section 3.3: a document for another issuer is not used
    return Discovery(
        url,
        response.status_code,
        metadata,
        keys,
        oauth_metadata,
        oauth_url,
        document if isinstance(document, dict) else None,
        oauth_issuer,
    )


def _require_this_servers_issuer(issuer: str, published: Any) -> None:
    """A discovery document that names an issuer on another server (another scheme, host or port) is
    DISC-01's failure, and every other rule is blocked by it: the endpoints and keys it lists are that
    other issuer's (LemonLDAP::NG builds them from its configured issuer), so nothing the suite would
    ask of them says anything of the environment's server. An issuer written another way on the same
    server is the file's likely typo (conftest's check); another path on this server, DISC-01's alone."""
    if not isinstance(published, str) or published == issuer or same_server(published, issuer):
        return
    one, other = urlsplit(issuer), urlsplit(published)
    try:
        same_origin = (one.scheme, one.hostname, one.port) == (other.scheme.lower(), other.hostname, other.port)
    except ValueError:  # a port that is no number
        same_origin = False
    if not same_origin:
        raise DiscoveryNotServed(
            f"discovery at {discovery_url(issuer)} publishes issuer {published!r}, another server than the "
            f"environment's issuer {issuer!r}: the issuer value returned MUST be identical to the Issuer URL that "
            "was directly used to retrieve the configuration information (OpenID Connect Discovery section 4.3). "
            "The endpoints and keys it lists are that other issuer's, so no other rule is run against them"
        )


# The most keys a JWK Set may hold for the suite to read it. RFC 7517 sets no limit; an issuer publishes
# its current signing keys and a few being rolled over, never thousands: a set of 50,000 keys (4.6 MB,
# under the 10 MiB body limit) is no key set but a server hostile or misconfigured, which cost KEY-02
# minutes. Documented in docs/certify-server.md ("Real networks").
MAX_JWKS_KEYS = 1000


def _require_few_keys(issuer: str, jwks_uri: str, document: Any) -> None:
    """A JWKS of more keys than MAX_JWKS_KEYS ends the run before any scenario, as an unusable server's
    answer does (exit 3), in one line naming the count and the limit."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if isinstance(keys, list) and len(keys) > MAX_JWKS_KEYS:
        raise ServerUnreachable(
            f"no usable answer from {issuer}: its JWKS ({redact_url(jwks_uri)}) holds {len(keys)} keys, more than "
            f"the {MAX_JWKS_KEYS} the suite reads (RFC 7517 sets no limit; an issuer publishes its few current "
            "signing keys). Check that jwks_uri is the authorization server's own"
        )


def _require_utf8(url: str, response: requests.Response) -> None:
    """A document that is no UTF-8 is no JSON between two parties: read leniently (undecodable bytes
    replaced), as requests reads a text, it could pass for one whose members say something else."""
    body = response.content.removeprefix(b"\xef\xbb\xbf")  # RFC 8259 section 8.1: a parser MAY ignore a BOM
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DiscoveryNotServed(
            f"the discovery document is not served: {url} answered a body that is not UTF-8 (byte "
            f'0x{body[error.start]:02x} at offset {error.start}); RFC 8259 section 8.1: "JSON text exchanged '
            'between systems that are not part of a closed ecosystem MUST be encoded using UTF-8"'
        ) from None


def _what_json(value: Any) -> str:
    """What a parsed body that is no discovery document is instead."""
    if isinstance(value, dict):
        return "an empty JSON object"
    return f"a JSON {type(value).__name__.replace('str', 'string').replace('NoneType', 'null')}, not an object"


def _not_a_document(url: str, response: requests.Response, why: str = "") -> str:
    if 300 <= response.status_code < 400:
        answered = f"a redirect to {response.headers.get('Location') or 'nowhere'}"
    else:
        answered = f"Content-Type {response.headers.get('Content-Type') or 'none'}, no JSON object: {why}"
    return (
        f"the discovery document is not served: {url} answered HTTP {response.status_code} ({answered}); "
        f"{DISCOVERY_SERVED}"
    )


def _get(http: HttpClient, url: str, issuer: str) -> requests.Response:
    try:
        response = http.send("GET", url)
    except EnvironmentProblem as problem:
        reached = "no usable answer from" if problem.answered else "cannot reach"  # too big, too slow, damaged
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        # the origin the request went to: a jwks_uri on another server is not the issuer's failure to answer
        home = urlsplit(issuer)
        named = (
            issuer
            if (home.scheme, home.netloc) == (parts.scheme, parts.netloc)
            else f"{origin} (named by {issuer}'s discovery)"
        )
        raise ServerUnreachable(f"{reached} {named}: {problem}") from None
    if response.status_code >= 500:
        raise ServerUnreachable(f"{issuer} answered HTTP {response.status_code} for {url}. {FIXES['failing']}")
    return response


def discovery_of(config, environment) -> Discovery:
    """The run's discovery (fetched when the run is configured), or, in a detection-matrix run, that
    of another defect set, fetched once, the first time a scenario or an early code needs it."""
    if environment.issuer == config.conformance_environment.issuer:
        discovery: Discovery = config.conformance_discovery
        return discovery
    fetched: dict[str, Discovery] = config.__dict__.setdefault("conformance_discoveries", {})
    if environment.issuer not in fetched:
        try:
            fetched[environment.issuer] = fetch_discovery(environment)
        except ServerUnreachable as error:
            raise EnvironmentProblem(str(error)) from None
        except DiscoveryNotServed as error:  # the server's answer, judged as the run's own discovery is
            raise NonConformance(str(error)) from None
    return fetched[environment.issuer]
