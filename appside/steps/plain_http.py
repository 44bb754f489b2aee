"""Plaintext HTTP requests on the stand-in's HTTPS port: an application that wrote http:// for the https issuer
(its token endpoint, the Visma API). The stand-in refuses each at its TLS handshake and reads nothing of it (its
headers hold the credentials: sandbox.recording.PLAIN_HTTP_NOTE), so a rule names the port, never which credential
went; and a rule that found no token request must not say the application sent none."""

from collections.abc import Callable

from appside.observed import Observed
from suite.verdict.checks import check

# the sentences a plaintext request to the https issuer breaks: what it carries (a bearer token to the API or
# userinfo, the client secret and a code to the token endpoint) crosses the network unencrypted
TLS_REQUIRED = (
    'RFC 6750 section 5.3: "Clients MUST always use TLS [RFC5246] (https) or equivalent transport security when '
    'making requests with bearer tokens."; RFC 6749 section 3.2: "Since requests to the token endpoint result in the '
    "transmission of clear-text credentials (in the HTTP request and response), the authorization server MUST "
    'require the use of TLS as described in Section 1.6 when sending requests to the token endpoint."'
)


def _count(every_observed: list[Observed]) -> int:
    """How many plaintext requests came, each once: sign-ins made at once each hold every request no sign-in owns
    (appside.concurrent), as these are (nothing of them is read, not even their path or cookies)."""
    return len({id(entry) for observed in every_observed for entry in observed.plain_http_requests})


def no_plain_http(every_observed: list[Observed], judged: Callable[[object, str], None] = check) -> None:
    """Fails (`judged`: check, or require where an earlier rule's failure is the one cause) where a plaintext HTTP
    request reached the stand-in's HTTPS port in any of `every_observed`."""
    count = _count(every_observed)
    judged(
        not count,
        f"the application sent plaintext HTTP requests (http://) to the stand-in's HTTPS port, the issuer's ({count} "
        "while it was used, in the sign-ins made at once: the stand-in cannot tell which made them): whatever "
        "credential they carried (a bearer token, the client secret) crossed the network unencrypted; the stand-in "
        f"refused each at its TLS handshake and read nothing of it, so which it was is not known; {TLS_REQUIRED}",
    )


def no_token_request_said(every_observed: list[Observed]) -> str:
    """'the application sent no token request', or, where plaintext HTTP requests reached the HTTPS port, that the
    stand-in received none over HTTPS: the application may well have sent one there, its secret with it."""
    count = _count(every_observed)
    if not count:
        return "the application sent no token request"
    return (
        "the stand-in received no token request over HTTPS, but plaintext HTTP requests (http://) reached its HTTPS "
        f"port ({count} while it was used; the issuer is https) and were refused at their TLS handshake unread: the "
        "application may have sent its token request there, its client secret with it (APPC-10 or APPC-32 names "
        "it)"
    )
