"""What the application side's browser does with a request of the application to an origin it does
not reach (neither the stand-in's nor the application's own): it never leaves (the suite's own
safety policy, as on the server side: suite.wire.login.browser.Guard), and it is judged on what it
carried, not on where it went.

On the server side the suite types a password into a login page it distrusts, so anything that
page sends elsewhere is a refusal. Here the password goes only into the stand-in's pages, which the
suite serves; a request of the application elsewhere (an analytics beacon, a font from a CDN, a
call to a partner's API) is aborted and listed in the report's "requests refused" attachment, and
the sign-in goes on. What it carried is kept (`sent`), its URL, headers and body whole, for the rule
that judges where the application's credentials go (APPC-32, appside/steps/leaks.py), which looks
in it for every token the stand-in issued and the client secret, in every encoding. Only the test
user's password, which the application never holds, still ends the sign-in: the suite's policy, which
no sentence of an RFC or of Visma's pages binds the application to, so a configuration problem (exit 4)
naming the origin and the application file's keys (suite.wire.http.UntrustedOrigin), not a failure."""

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from suite.secrets.redaction import REDACTOR, decoded, encodings, inflated
from suite.wire.login.browser import Guard

# A query parameter's name as a page names one; anything else in its place (a bare "?<base64>") is a value.
# A path segment longer than PATH_SEGMENT_SHOWN is shown by its length: it may be a value too ("/c/<token>").
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,39}")
PATH_SEGMENT_SHOWN = 24


def named(url: str) -> str:
    """A request held on its way to another origin as every output names it: its origin, its path and the
    NAMES of its query parameters, never their values (an outsider's page sent its tokens reversed and
    base64-encoded in `?e=`, which no scrubber knows: its URL quoted whole put them in every report)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "(an address the suite cannot read)"
    segments = [s if len(s) <= PATH_SEGMENT_SHOWN else f"({len(s)} characters)" for s in parts.path.split("/")]
    names = [n if PARAMETER_NAME.fullmatch(n) else "(a value)" for n, _ in parse_qsl(parts.query, True)]
    query = "?" + "&".join(f"{name}=…" for name in dict.fromkeys(names)) if names else ""
    authority = f"[{host}]" if ":" in host else host
    return REDACTOR.scrub(f"{parts.scheme}://{authority}{f':{port}' if port else ''}{'/'.join(segments)}{query}")


# what a session keeps of them: a page that sends a beacon every 100 ms, or megabytes each time, is not kept whole
# for the whole run (what goes beyond is still aborted and listed)
SENT_KEPT, BODY_KEPT = 5_000, 5_000_000


@dataclass(frozen=True)
class SentElsewhere:
    """A request of the application's browser to an origin it does not reach, as it would have gone."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    kind: str = ""  # what asked for it: fetch, xhr, ping (a beacon), document, WebSocket, popup...

    @property
    def named(self) -> str:
        """Its kind, method and URL as every output names it (`named`): no value, no body."""
        return f"{self.kind} {self.method} {named(self.url)}".strip()

    def parts(self) -> list[tuple[str, str]]:
        """(where in the request, text): its URL, each header, its body."""
        found = [("its URL", self.url)]
        found += [(f"its {name} header", value) for name, value in self.headers]
        if self.body:
            found.append(("its body", self.body))
        return found


def readable_body(raw: bytes, headers: dict, url: str) -> str:
    """A held request's body as text: inflated first where it is gzip, zlib or deflate, by its
    Content-Encoding, a `compression=gzip...` parameter (an analytics library's) or its magic bytes, at most
    BODY_KEPT bytes of it; decoded as it was bytes would lose what compression holds."""
    encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "").lower()
    named = "compression=gzip" in url or "compression=deflate" in url
    deflate = "deflate" in encoding or "compression=deflate" in url
    opened = inflated(raw, BODY_KEPT, deflate=deflate) if raw and (encoding or named or raw[:1] in b"\x1f\x78") else b""
    return (opened or raw).decode(errors="replace")


class ApplicationGuard(Guard):
    """Guard for the application side: every request to an origin the policy does not allow is aborted
    and kept (`sent`), whatever the page, frame or worker that made it and whenever it was made; none
    ends the sign-in but one carrying the test user's password."""

    def __init__(self, policy, password: str, page=None) -> None:
        super().__init__(policy, page=page)
        self.password = password
        self.sent: list[SentElsewhere] = []  # grows for the session's whole life: a SignIn keeps its part

    def _hold(self, route) -> None:
        request = route.request
        if not request.url.startswith(("http:", "https:")) or self.policy.refusal(request.url) is None:
            super()._hold(route)  # the stand-in's and the application's own origins
            return
        try:
            raw = request.post_data_buffer or b""
        except Exception:  # a body Playwright cannot give
            raw = b""
        try:
            headers = request.all_headers()
        except Exception:  # the page went meanwhile: the headers its script set
            headers = request.headers
        body = readable_body(raw, headers, request.url)
        navigation = self.is_page_load(request)
        self.keep(SentElsewhere(request.method, request.url, tuple(headers.items()), body, request.resource_type))
        route.abort("aborted" if navigation else "blockedbyclient")

    def keep(self, request: SentElsewhere) -> None:
        described = request.named
        if self._carries_password(request):
            self._refuse(f"the test user's password in {request.method} {named(request.url)}", request.url)
        with self._lock:
            if len(self.sent) < SENT_KEPT:
                self.sent.append(replace(request, body=request.body[:BODY_KEPT]))
            self.blocked.append(described)

    def _carries_password(self, request: SentElsewhere) -> bool:
        forms = encodings(self.password) if len(self.password) >= 8 else {self.password}
        texts = [t for _, text in request.parts() for t in decoded(text)]
        return bool(self.password) and any(form in text for form in forms for text in texts)

    def _hold_web_socket(self, socket) -> None:
        """A WebSocket elsewhere stays open to nobody; its address is kept as a request's (what its messages
        would carry is out of sight, and nothing reached anyone)."""
        target = "http" + socket.url[2:]
        if self.policy.refusal(target) is None:
            socket.connect_to_server()
        else:
            self.keep(SentElsewhere("GET", socket.url, kind="WebSocket"))

    def settle(self, navigated_to: list[str]) -> None:
        """A connection the fence refused (a preconnect, a shared worker's) is listed: what it would have
        carried is out of sight, and it reached nobody."""
        with self._lock:
            fenced, self.fenced = self.fenced, []
            self.blocked += [
                f"a connection to {host}:{port} (what it carried is out of sight)" for host, port, _ in fenced
            ]
