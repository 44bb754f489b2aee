"""The server under test as the suite first meets it: its discovery document and signing keys.

Fetched once per run; a server that cannot be reached ends the run with one message that
names the issuer and the cause, instead of every scenario failing on its own.
"""

from dataclasses import dataclass

import requests
from joserfc.jwk import KeySet

from .http import EnvironmentProblem, HttpClient, describe_network_error


class ServerUnreachable(Exception):
    pass


@dataclass
class Discovery:
    url: str
    status: int
    metadata: dict
    keys: KeySet | None

    def endpoint(self, name: str) -> str:
        if name not in self.metadata:
            raise AssertionError(f"the discovery document has no {name}")
        return self.metadata[name]


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def fetch_discovery(environment) -> Discovery:
    http = HttpClient(environment.http)
    url = discovery_url(environment.issuer)
    response = _get(http, url, environment.issuer)
    try:
        metadata = response.json()
    except ValueError:
        metadata = {}
    if response.status_code != 200 or not isinstance(metadata, dict) or not metadata:
        raise ServerUnreachable(f"{environment.issuer} answered {response.status_code} without a JSON "
                                f"discovery document at {url}; is the issuer right?")
    keys = None
    if isinstance(metadata.get("jwks_uri"), str):
        jwks = _get(http, metadata["jwks_uri"], environment.issuer)
        try:
            keys = KeySet.import_key_set(jwks.json())
        except (ValueError, TypeError, KeyError):
            keys = None  # the signature checks fail with their own message
    return Discovery(url, response.status_code, metadata, keys)


def _get(http: HttpClient, url: str, issuer: str):
    try:
        response = http.send("GET", url)
    except requests.exceptions.SSLError as error:
        raise ServerUnreachable(f"cannot reach {issuer}: TLS failure ({describe_network_error(error)})") from None
    except EnvironmentProblem as problem:
        raise ServerUnreachable(f"cannot reach {issuer}: {problem}") from None
    if response.status_code >= 500:
        raise ServerUnreachable(f"{issuer} answered HTTP {response.status_code} for {url}")
    return response
