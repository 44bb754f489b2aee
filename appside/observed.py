"""What the stand-in saw of the application: its requests, read from the sandbox's request log
and sorted into authorization requests, callbacks, token requests and API calls."""

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode, urlsplit

import allure

from sandbox.app import PATHS
from sandbox.mock_api import API_PREFIX
from sandbox.recording import FORM_POST_NOTE, PLAIN_HTTP_NOTE
from suite.secrets.redaction import REDACTOR, learn_plain_code_challenge, learn_s256_code_challenge
from suite.wire.http import Exchange, allure_results_written


@dataclass
class Observed:
    entries: list
    issuer: str = field(default="", repr=False)  # where the stand-in listens, for the attached curl lines
    # (start, end) of the sign-in these are the requests of, where it was made with others at once (time.time())
    window: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def plain_http_requests(self) -> list:
        """The plaintext HTTP requests that reached the stand-in's HTTPS port (sandbox: PLAIN_HTTP_NOTE), unread."""
        return [e for e in self.entries if e.notes.get(PLAIN_HTTP_NOTE)]

    @property
    def authorization_requests(self) -> list:
        """The application's authorization requests (the browser repeats each one after the login
        page; those repeats carry the same query and are left out)."""
        seen, requests = set(), []
        for entry in self.entries:
            if entry.path == PATHS["authorization_endpoint"] and entry.method == "GET" and entry.query not in seen:
                seen.add(entry.query)
                requests.append(entry)
        return requests

    @property
    def callbacks(self) -> list:
        """The stand-in's redirects back to the application, with their parameters."""
        return [
            e
            for e in self.entries
            if e.path == PATHS["authorization_endpoint"]
            and (e.status in (302, 303) or FORM_POST_NOTE in e.notes)
            and ("code" in e.location_params or "error" in e.location_params)
        ]

    @property
    def token_requests(self) -> list:
        """Every request to the token endpoint, whatever its method, body or answer: a GET or a JSON
        one is a token request sent wrongly (APPC-12), not a token request not sent."""
        return [e for e in self.entries if e.path == PATHS["token_endpoint"]]

    def grants(self, grant_type: str) -> list:
        return [e for e in self.token_requests if e.param("grant_type") == grant_type]

    @property
    def api_calls(self) -> list:
        return [e for e in self.entries if e.path.startswith(API_PREFIX + "/")]

    @property
    def userinfo_calls(self) -> list:
        return [e for e in self.entries if e.path == PATHS["userinfo_endpoint"]]

    def follow_up_gaps(self) -> list[float]:
        """Seconds between the stand-in's callback and each next request of the application, from
        one arrival to the next: how fast it follows a callback up (redeems the code, calls the API)."""
        callbacks = self.callbacks
        if not callbacks:
            return []
        after = sorted(e.at for e in self.entries if e.at >= callbacks[0].at)
        return [later - earlier for earlier, later in itertools.pairwise(after)]

    def redemptions_of(self, code: str) -> list:
        return [e for e in self.grants("authorization_code") if e.param("code") == code]

    def restart_after(self, at: float) -> float | None:
        """When the application started a new sign-in after `at` (a faulty callback it refused): the
        arrival of its next authorization request, or None. Restarting the sign-in (passport's
        documented `failureRedirect: '/login'`) is a refusal: what that new sign-in leads to (its own
        code, tokens and signed-in page) is not what the application did with the faulty response."""
        # any request to the authorization endpoint after the callback: a new one by GET or POST, repeated
        # as it may be (a fixed state and no PKCE make it the same query), is a new sign-in's
        return next((e.at for e in self.entries if e.path == PATHS["authorization_endpoint"] and e.at > at), None)

    @property
    def restarts_after_each_callback(self) -> int:
        """How many new authorization requests the application began after the stand-in's callbacks with a code,
        where it began one after each of them (but the last, which the end of the watch may have cut short); 0
        otherwise. A sign-in that goes round so never finishes: mozilla-django-oidc's SessionRefresh with
        OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS=0 renews the sign-in on the page its callback leads to, every time.
        Only a new request from the callback's own browser (the stand-in's session, noted in its log) counts: the
        sign-ins of other browsers (each its own request and callback) are no new sign-in this one began."""
        issued = [c for c in self.callbacks if "code" in c.location_params]
        restarts = sum(self._restarted_by_its_browser(callback) for callback in issued)
        return restarts if restarts >= max(len(issued) - 1, 2) else 0

    def _restarted_by_its_browser(self, callback) -> bool:
        """Whether the browser the stand-in sent `callback` to made an authorization request after it."""
        browser = callback.notes.get("browser")
        return browser is not None and any(
            e.path == PATHS["authorization_endpoint"] and e.at > callback.at and e.notes.get("browser") == browser
            for e in self.entries
        )

    def tokens_of(self, responses: Iterable) -> set[str]:
        """The access, refresh and ID tokens the stand-in gave in `responses` (token responses), and those
        it gave for refreshing them, however many times over: what the application got from them (an ID
        token too, which an application may send as its bearer token)."""
        given: set[str] = set().union(*map(_tokens_given, responses))
        while True:
            refreshed = [r for r in self.grants("refresh_token") if r.param("refresh_token") in given]
            more = set().union(*map(_tokens_given, refreshed)) - given
            if not more:
                return given
            given |= more

    @property
    def id_tokens(self) -> set[str]:
        """Every ID token the stand-in gave in its token responses here."""
        return {
            str(answer["id_token"])
            for answer in (r.response_json or {} for r in self.token_requests if r.status == 200)
            if isinstance(answer.get("id_token"), str)
        }

    def attach(self, title: str) -> None:
        """Every recorded request, redacted, as one Allure attachment, where the run writes Allure results (the
        redaction is a run's largest share of the suite's own CPU). Its tokens and codes are secrets either way."""
        learn_secrets(self.entries)
        if not allure_results_written():
            return
        text = (
            "\n\n".join(
                f"#{n} at +{e.at - self.entries[0].at:.2f} s\n{_exchange(e, self.issuer).report()}"
                for n, e in enumerate(self.entries, 1)
            )
            or "(no request reached the stand-in)"
        )
        allure.attach(
            REDACTOR.scrub(text),
            name=f"{title}: {len(self.entries)} requests the stand-in received",
            attachment_type=allure.attachment_type.TEXT,
        )


def _tokens_given(response) -> set[str]:
    answer = (response.response_json or {}) if response.status == 200 else {}
    return {str(answer[k]) for k in ("access_token", "refresh_token", "id_token") if isinstance(answer.get(k), str)}


# seconds after a sign-in ended in which a request of its own may still arrive (a page's last fetch)
TRAILING = 1.0


def tokens_of_ended_sign_ins(observed: Observed, others: Iterable[Observed]) -> list[tuple]:
    """(call, user, seconds) for each API or userinfo call made while this sign-in went on that carried a token the
    stand-in had issued to another sign-in (`user`'s, noted by the stand-in), `seconds` (more than TRAILING) after
    that sign-in had ended: no request of its own, so the application sent it for someone else, as one that keeps a
    single token for every user (its users then see each other's data) does. Empty where the sign-ins were not made
    at once."""
    if observed.window is None:
        return []
    own = observed.tokens_of([r for r in observed.token_requests if r.status == 200])
    start, end = observed.window
    found, seen = [], set()
    for other in others:
        if other is observed or other.window is None:
            continue
        other_end = other.window[1]
        issued = {
            token: str(response.notes.get("user") or "another test user")
            for response in other.token_requests
            for token in _tokens_given(response) - own
        }
        for call in other.api_calls + other.userinfo_calls:
            late = call.at - other_end
            foreign = carried_tokens(call) & issued.keys()
            if id(call) not in seen and start <= call.at <= end and late > TRAILING and foreign:
                seen.add(id(call))
                found.append((call, issued[min(foreign)], late))
    return sorted(found, key=lambda item: item[0].at)


def of_one_sign_in(entries: list, user: str, browser_urls: Iterable[str], issuer: str) -> list:
    """The requests of one sign-in among several at once, each by its own test user in its own
    browser: what the stand-in did for that user (its log notes whom an authorization response, a
    login or a token was for), what that browser asked of the stand-in (the log notes the browser
    by the stand-in's own session, so the authorization request before the user signed in is told
    apart even where every sign-in sends the same state and nonce; a request without that note by
    the same path and query), and what the application then sent with the codes and tokens the
    stand-in gave that sign-in, refused or not (a token request with its code or refresh token, an
    API or userinfo call with its access token)."""
    stand_in = urlsplit(issuer).netloc
    asked = {
        (parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True)))
        for parts in map(urlsplit, browser_urls)
        if parts.netloc == stand_in
    }
    browsers = {e.notes["browser"] for e in entries if e.notes.get("user") == user and e.notes.get("browser")}
    signed_in = {e.notes["browser"] for e in entries if e.notes.get("user") and e.notes.get("browser")}
    # what the stand-in gave the other sign-ins: a call that carries one is theirs, whatever path it shares
    others = {
        str(value)
        for e in entries
        if e.notes.get("user") and e.notes["user"] != user
        for name, value in (e.response_json or {}).items()
        if name in ("access_token", "refresh_token", "id_token")
    }

    def from_its_browser(entry) -> bool:
        """Its browser's, as the stand-in noted it; a browser that signed in as nobody (a sign-in that
        stalled before the login, or one left pending on purpose) by the same path and query, unless it
        carries a token another sign-in was given (a SPA's API call has no cookie, so no browser note,
        and every sign-in calls the same API path)."""
        browser = entry.notes.get("browser")
        if browser in signed_in:
            return browser in browsers
        return (entry.path, entry.query) in asked and not _sent_one_of(entry, others)

    own = [e for e in entries if e.notes.get("user") == user or (not e.notes.get("user") and from_its_browser(e))]
    given: set[str] = set()
    while True:  # a token given to this sign-in leads to the next request and its tokens
        for entry in own:
            given.update(v for k, v in entry.location_params.items() if k == "code")
            # its ID token too: an application may send it as its bearer token, and the call is still this sign-in's
            given.update(
                str(v)
                for k, v in (entry.response_json or {}).items()
                if k in ("access_token", "refresh_token", "id_token")
            )
        kept = {id(e) for e in own}
        more = [e for e in entries if id(e) not in kept and not e.notes.get("user") and _sent_one_of(e, given)]
        if not more:
            return sorted(own, key=lambda e: e.at)
        own += more


def _sent_one_of(entry, values: set[str]) -> bool:
    bearer = entry.headers.get("Authorization", "").partition(" ")[2].strip()
    return bool(
        values.intersection(
            {*entry.params("code"), *entry.params("refresh_token"), bearer, *entry.params("access_token")} - {""}
        )
    )


# the names of headers whose values are credentials, whatever a client calls them (X-Refresh-Token,
# Proxy-Authorization, X-Api-Key, Cookie): masked as they are, besides the tokens the stand-in issued
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|token|secret|key|cookie|session|password|credential")
# an HTTP authentication scheme's name alone (`Authorization: Bearer` with nothing after it, as a library that dropped
# a token it took for expired sends): no credential, and masked it would mask the word in every message
_SCHEME_ALONE = re.compile(r"(?i)\s*(bearer|basic|dpop|digest|negotiate|token)\s*")


def learn_secrets(entries) -> None:
    """Codes, tokens, verifiers and secrets in the log are masked from every output from now on."""
    for entry in entries:
        for name in ("code", "code_verifier", "client_secret", "refresh_token"):
            for value in entry.params(name):
                REDACTOR.register(value, name)
        if entry.path == PATHS["authorization_endpoint"]:
            learn_plain_code_challenge(entry.param("code_challenge"), entry.param("code_challenge_method"))
            learn_s256_code_challenge(entry.param("code_challenge"), entry.param("code_challenge_method"))
        REDACTOR.register(entry.location_params.get("code"), "authorization code")
        for name in ("access_token", "refresh_token", "id_token"):
            REDACTOR.register((entry.response_json or {}).get(name), name)
        authorization = entry.headers.get("Authorization", "")
        REDACTOR.register(authorization.partition(" ")[2], "Authorization credentials")
        for name, value in entry.headers.items():  # a credential a client sends in a header of its own
            if _CREDENTIAL_HEADER.search(name) and not _SCHEME_ALONE.fullmatch(value):
                REDACTOR.register(value, f"{name} header")
        basic = basic_credentials(entry)
        if basic is not None:
            REDACTOR.register(basic.raw_secret, "client_secret")
            REDACTOR.register(basic.secret, "client_secret")


def _exchange(entry, issuer: str) -> Exchange:
    url = issuer + entry.path + (f"?{urlencode(entry.query)}" if entry.query else "")
    response_headers = {"Location": entry.location} if entry.location else {}
    body = json.dumps(entry.response_json) if entry.response_json is not None else ""
    if body:
        response_headers["Content-Type"] = "application/json"
    return Exchange(entry.method, url, dict(entry.headers), entry.body, entry.status, response_headers, body, 0.0)


FORM = "application/x-www-form-urlencoded"


def token_request_shape(request, grant_section: str) -> str:
    """What is wrong with how a token request is sent ("" if nothing): RFC 6749 section 3.2 has it
    POSTed, and each grant's section (4.1.3, 4.4.2, 6) form-encodes its parameters in the body."""
    if request.method != "POST":
        return (
            f'a token request was sent with {request.method}: RFC 6749 section 3.2, "The client MUST use the HTTP '
            'POST method when making access token requests"'
        )
    content_type = request.content_type or "no Content-Type"
    if content_type != FORM:
        return (
            f"the token request was {'JSON' if content_type == 'application/json' else content_type}, not "
            f"form-encoded ({FORM}): RFC 6749 section {grant_section} and Visma Connect's documentation put its "
            "parameters in a form-encoded body"
        )
    return ""


def secret_in_query(request, secret: str) -> bool:
    """Whether a request's URL query carries the client secret (as client_secret, or inside any value):
    APPC-11's failure, which a service's token request then breaks APPC-12 by too."""
    return any(k == "client_secret" or secret in v for k, v in request.query)


def form_value(request, name: str) -> str | None:
    """From the form body only: a credential in the URL does not authenticate (RFC 6749 section 2.3.1)."""
    return next((v for k, v in request.form if k == name), None)


def basic_password(request) -> str:
    """The password of an HTTP Basic header as it is written (not decoded), or ""."""
    credentials = basic_credentials(request)
    return credentials.raw_secret if credentials else ""


@dataclass(frozen=True)
class BasicCredentials:
    """An HTTP Basic header's user-id and password, as written and as Visma Connect reads them:
    RFC 6749 section 2.3.1 has the client form-urlencode both before it joins them, so the server
    undoes that encoding (IdentityServer turns "+" into a space and unescapes "%XX")."""

    raw_client_id: str
    raw_secret: str = field(repr=False)
    utf8: bool = True  # False: the bytes were not UTF-8 and are read here as latin-1 (as requests writes str)

    @property
    def client_id(self) -> str:
        return unquote_plus(self.raw_client_id)

    @property
    def secret(self) -> str:
        return unquote_plus(self.raw_secret)


def basic_credentials(request) -> BasicCredentials | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        joined = base64.b64decode(credentials.strip())
    except ValueError:
        return None
    try:
        text, utf8 = joined.decode(), True
    except UnicodeDecodeError:
        text, utf8 = joined.decode("latin-1"), False
    user_id, _, password = text.partition(":")
    return BasicCredentials(user_id, password, utf8)


@dataclass(frozen=True)
class ClientAuthentication:
    """How one token request authenticated the application with its secret, judged as the server reads it."""

    method: str  # "HTTP Basic", "client_secret in the form body" or "none"
    encoding: str  # how the application wrote its Basic credentials (RFC 6749 section 2.3.1), or ""
    problem: str  # "" when the server reads the application's client id and secret

    def describe(self) -> str:
        return self.method + (f", {self.encoding}" if self.encoding else "")


# what a token request is for, by its grant_type: the record names each kind's method where they differ
REQUEST_KINDS = {
    "authorization_code": "code redemption",
    "refresh_token": "refresh",
    "client_credentials": "service token",
}


def described_by_kind(methods: dict[str, list[str]]) -> str:
    """How the application authenticated, from each request kind's methods (in the order seen): the
    one method where every request used it, else each kind with its own (social-auth redeems its code
    with HTTP Basic and refreshes with client_secret in the form body)."""
    distinct = {method for kind_methods in methods.values() for method in kind_methods}
    if len(distinct) == 1:
        return distinct.pop()
    return "; ".join(f"{kind}: {', then '.join(kind_methods)}" for kind, kind_methods in methods.items())


BASIC_ENCODING = (
    "RFC 6749 section 2.3.1: the client id and secret are each form-urlencoded before they become the Basic "
    "user-id and password"
)


def client_authentication(request, client_id: str, secret: str) -> ClientAuthentication:
    basic = basic_credentials(request)
    if basic is not None:
        return _basic_authentication(basic, client_id, secret, str(request.headers.get("User-Agent", "")))
    named = form_value(request, "client_id")
    if named is not None and named != client_id:
        return ClientAuthentication("client_secret in the form body", "", _another_client(named, client_id))
    sent = form_value(request, "client_secret")
    assertion = form_value(request, "client_assertion")
    if sent is None and assertion is not None:
        method = _assertion_method(assertion)
        return ClientAuthentication(f"a client_assertion ({method})", "", _assertion_problem(request, method))
    if sent is None:
        return ClientAuthentication(
            "none", "", "it carries no client secret (no HTTP Basic header, none in the form body)"
        )
    problem = "" if sent == secret else _not_the_secret(request, secret)
    problem += _encoded_once_more(sent, secret) if problem else ""
    return ClientAuthentication("client_secret in the form body", "", problem)


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_IN_BASIC_OR_BODY = (
    'Visma Connect registers the application with a client secret it sends itself ("client_secret: The '
    'confidential secret provided when registering the application"), in an HTTP Basic header or as client_secret '
    "in the form body (RFC 6749 section 2.3.1), the two token_endpoint_auth_methods_supported of its discovery "
    "document (client_secret_basic, client_secret_post)"
)


def _assertion_method(assertion: str) -> str:
    """What a client_assertion is, by its JWT header's alg (OpenID Connect Core 1.0 section 9): an HMAC one is
    client_secret_jwt (signed with the secret), another private_key_jwt; unreadable, just a JWT."""
    header = assertion.split(".", 1)[0]
    try:
        alg = str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))).get("alg", ""))
    except (ValueError, AttributeError):
        return "a JWT"
    if alg.upper().startswith("HS"):
        return f"a JWT signed with {alg} from the secret: client_secret_jwt"
    return f"a JWT signed with {alg}: private_key_jwt" if alg else "a JWT"


def _assertion_problem(request, method: str) -> str:
    kind = form_value(request, "client_assertion_type")
    typed = "of type jwt-bearer" if kind == JWT_BEARER else f"of client_assertion_type {kind!r}"
    return (
        f"it sends a client_assertion {typed} ({method}, RFC 7523 section 2.2) instead of the client secret "
        f"(no HTTP Basic header, no client_secret in the form body): {SECRET_IN_BASIC_OR_BODY}; configure the "
        "client library for client_secret_basic or client_secret_post"
    )


def _encoded_once_more(sent: str, secret: str) -> str:
    """Where the secret sent is the application's with its UTF-8 bytes encoded to UTF-8 again (each byte
    taken as a character: Mojolicious form-encodes a secret read from Perl's %ENV, which holds bytes),
    what to do about it."""
    if secret.isascii() or sent != secret.encode("utf-8").decode("latin-1"):
        return ""
    return (
        ": it is the secret UTF-8-encoded twice (each byte of its UTF-8 taken as a character, as a Perl "
        "application that form-encodes a secret read from %ENV unchanged sends it); decode the secret from "
        "UTF-8 before the client library encodes it"
    )


USER_AGENT_SHOWN = 60  # characters of a User-Agent named in a failure: enough for a library's name and version


def _sent_by(user_agent: str) -> str:
    """The library a token request names in its User-Agent (arctic sends "arctic"), as the fix names it."""
    agent = " ".join(user_agent.split())[:USER_AGENT_SHOWN]
    return f" (the request's User-Agent, {agent!r}, may name the library)" if agent else ""


# The function that form-urlencodes a value (a space as "+" or "%20": a form decoder reads both), in the language a
# token request's User-Agent shows (its lower case), first match; where none shows, the first two are named
ENCODERS = (
    (("mozilla", "node", "undici", "axios", "got ("), "in JavaScript, encodeURIComponent does"),
    (("python", "aiohttp"), "in Python, urllib.parse.quote_plus does"),
    (
        ("perl", "mojolicious", "http-tiny"),
        "in Perl, URI::Escape's uri_escape_utf8 does (uri_escape, on a secret still in UTF-8 bytes as %ENV holds it)",
    ),
    (("ruby", "faraday", "rest-client", "omniauth"), "in Ruby, URI.encode_www_form_component does"),
    (("go-http-client",), "in Go, url.QueryEscape does"),
    (("java", "okhttp", "apache-httpclient"), "in Java, URLEncoder.encode(value, StandardCharsets.UTF_8) does"),
)


def _encoder(user_agent: str) -> str:
    agent = user_agent.lower()
    found = next((encoder for names, encoder in ENCODERS if any(name in agent for name in names)), None)
    return found or f"{ENCODERS[0][1]}; {ENCODERS[1][1]}"


def _raw_basic_fix(user_agent: str) -> str:
    """What to change where an application wrote its Basic credentials without form-urlencoding them."""
    return (
        ". Fix: form-urlencode the client id and the secret before they become the Basic user-id and password "
        f"(RFC 6749 section 2.3.1; {_encoder(user_agent)}): give a client library that writes them "
        "as they are the encoded values, or have it send client_id and client_secret in the form body instead"
        f"{_sent_by(user_agent)}; docs/client-libraries.md has notes on known libraries"
    )


# what a secret's characters become where it is sent without form-urlencoding, as a server reads the body
_READ_OTHERWISE = (("+", '"+" reads as a space'), ("%", '"%XX" as the byte XX'), ("&", '"&" ends the value'))


def _not_the_secret(request, secret: str) -> str:
    """Why the client_secret a form body carries is not the application's: where the body holds the secret
    as it is (its "+", "%" and "&" written literally), it was sent without form-urlencoding."""
    problem = "the client_secret in its form body is not the application's secret"
    if f"client_secret={secret}" not in (getattr(request, "body", "") or "") or quote_plus(secret) == secret:
        sent = form_value(request, "client_secret") or ""
        return problem + ("" if _encoded_once_more(sent, secret) else where_it_differs(sent, secret))
    read = [what for character, what in _READ_OTHERWISE if character in secret]
    return (
        f"{problem} as a server reads it: the body holds the secret as it is, not form-urlencoded"
        + (f" ({', '.join(read)})" if read else "")
        + ', while RFC 6749 section 4.4.2 sends the parameters in the "application/x-www-form-urlencoded" format '
        'per Appendix B; form-urlencode each value (curl --data-urlencode "client_secret=..." rather than --data, '
        "or the HTTP library's form encoding)"
    )


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _character_class(character: str) -> str:
    """What kind of character a secret has at a place, named without the character itself."""
    if not character.isascii():
        return "a non-ASCII character"
    if character.isalpha():
        return "a letter"
    if character.isdigit():
        return "a digit"
    if character == " ":
        return "a space"
    if not character.isprintable():
        return "a control character"
    return "a punctuation character"


def where_it_differs(sent: str, secret: str) -> str:
    """Where a client_secret sent differs from the application's, by positions and character classes only:
    neither value, nor any character of them, is ever written. A client library that drops or replaces what
    it cannot encode (@hapi/bell's useParamsAuth writes each non-ASCII character as the text "undefined")
    leaves the secret's other characters in place, in order."""
    if not sent or not secret:
        return ""
    if sent == quote_plus(secret):
        return ": it is the secret form-urlencoded twice (the library encoded a value that was already encoded)"
    if sent == secret.strip():
        return ": it is the secret without the white space at its start or end (trimmed)"
    same = next((i for i, (a, b) in enumerate(zip(sent, secret, strict=False)) if a != b), min(len(sent), len(secret)))
    if same == len(secret):
        return f": it is the secret with {len(sent) - same} more characters after it"
    if same == len(sent):
        return (
            f": it is the secret cut short, its first {same} characters of {len(secret)} (cut before its "
            f"{_ordinal(same + 1)}, {_character_class(secret[same])})"
        )
    said = (
        f": it differs from the secret's {_ordinal(same + 1)} character on ({_character_class(secret[same])}; the "
        f"secret has {len(secret)} characters, the value sent {len(sent)})"
    )
    non_ascii = [i for i, character in enumerate(secret) if not character.isascii()]
    ascii_kept = re.fullmatch(
        "".join("(.*?)" if not c.isascii() else re.escape(c) for c in secret), sent, flags=re.DOTALL
    )
    if non_ascii and ascii_kept:
        replaced = {text: re.sub(r"[^\x00-\x7f]", text, secret) == sent for text in ("", "undefined", "?", "\ufffd")}
        how = (
            "missing"
            if replaced[""]
            else "each written as the text 'undefined'"
            if replaced["undefined"]
            else "each replaced by '?'"
            if replaced["?"]
            else "each replaced by U+FFFD"
            if replaced["\ufffd"]
            else "missing or replaced"
        )
        places = ", ".join(_ordinal(i + 1) for i in non_ascii)
        said += (
            f": its {len(non_ascii)} non-ASCII character{'s' * (len(non_ascii) > 1)} (the {places}) "
            f"{'are' if len(non_ascii) > 1 else 'is'} {how}, every other character is in place: the client library "
            "drops or replaces characters it cannot encode (e.g. @hapi/bell's useParamsAuth: docs/client-libraries.md)"
        )
    return said


def _basic_authentication(
    basic: BasicCredentials, client_id: str, secret: str, user_agent: str = ""
) -> ClientAuthentication:
    if not basic.utf8:
        return ClientAuthentication(
            "HTTP Basic",
            "sent as they are in latin-1, not form-urlencoded",
            "its HTTP Basic credentials are not UTF-8 (they read as latin-1): form-urlencoded as RFC 6749 section "
            "2.3.1 asks, they would be ASCII; Visma Connect cannot read them and refuses the application"
            + _raw_basic_fix(user_agent),
        )
    encoding_changes_them = quote_plus(basic.raw_secret) != basic.raw_secret or (
        quote_plus(basic.raw_client_id) != basic.raw_client_id
    )
    if basic.secret == secret and basic.client_id == client_id:
        if basic.raw_secret == secret and basic.raw_client_id == client_id and encoding_changes_them:
            encoding = "sent as they are, not form-urlencoded (no character in them that the decoding changes)"
        elif basic.raw_secret == secret and basic.raw_client_id == client_id:
            encoding = "form-urlencoded or as they are (the encoding leaves their characters alone)"
        else:
            encoding = "form-urlencoded (RFC 6749 section 2.3.1)"
        return ClientAuthentication("HTTP Basic", encoding, "")
    if basic.raw_secret == secret and basic.raw_client_id == client_id:
        return ClientAuthentication(
            "HTTP Basic",
            "sent as they are, not form-urlencoded",
            "its HTTP Basic header carries the client id and secret without the application/x-www-form-urlencoded "
            f"encoding ({BASIC_ENCODING}); decoding them, as Visma Connect does, gives another "
            f"{'secret' if basic.secret != secret else 'client id'} (a '%XX' becomes one character, a '+' a space), "
            "so Visma Connect refuses the application" + _raw_basic_fix(user_agent),
        )
    if basic.client_id != client_id and basic.raw_client_id != client_id:
        return ClientAuthentication("HTTP Basic", "", _another_client(basic.client_id, client_id))
    what = "secret" if basic.secret != secret else "client id"
    return ClientAuthentication(
        "HTTP Basic",
        "",
        f"its HTTP Basic header carries another {what} than the application's, whether read as written or "
        f"form-urlencoded ({BASIC_ENCODING})",
    )


def _another_client(named: str, client_id: str) -> str:
    return (
        f"its token request names client_id {named!r}, not the registered {client_id!r} (application.client_id in "
        "the application file): Visma Connect authenticates only the registered client and refuses the request. "
        "Make the two the same: correct the client id the application is configured with, or the file's "
        "application.client_id if that one is wrong"
    )


def unverified_claims(jwt: str) -> dict:
    """A JWT's claims as they are written, whether or not its signature holds."""
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def token_expiries(observed: Observed) -> dict[str, float]:
    """access token -> when it expired (time.time()), for each the stand-in issued in `observed`."""
    expiries = {}
    for response in observed.token_requests:
        answer = (response.response_json or {}) if response.status == 200 else {}
        if isinstance(answer.get("access_token"), str) and isinstance(answer.get("expires_in"), int | float):
            expiries[answer["access_token"]] = response.at + answer["expires_in"]
    return expiries


def bearer_of(call) -> str | None:
    """The access token a call to the API or userinfo carries: in its Authorization header or, as
    RFC 6750 section 2.3 describes (and APPC-26 forbids), in its URL or form body."""
    scheme, _, token = str(call.headers.get("Authorization", "")).partition(" ")
    in_url: str | None = call.param("access_token")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else in_url


# RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_defect(call) -> str:
    """What is wrong with the Bearer credentials a call's Authorization header carries: "empty" (the scheme with no
    token, as a library sends once it dropped a token it took for expired), "malformed" (not RFC 6750 section 2.1's
    b64token), or "" where it carries a well-formed one or no Bearer header at all."""
    scheme, _, token = str(call.headers.get("Authorization", "")).strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    token = token.strip(" ")
    if not token:
        return "empty"
    return "" if B64TOKEN.fullmatch(token) else "malformed"


def carried_tokens(call) -> set[str]:
    """The access tokens a call to the Visma API or userinfo carries, in its header, URL or form body."""
    return {bearer_of(call) or "", *call.params("access_token")} - {""}


def expired_uses(observed: Observed) -> list:
    """The calls to the Visma API or userinfo that carried an access token past its expiry: as the
    stand-in's API noted it, or as the token's own expires_in says (userinfo, a token in the URL)."""
    expiries = token_expiries(observed)
    return [
        call
        for call in observed.api_calls + observed.userinfo_calls
        if call.notes.get("bearer") == "expired" or expiries.get(bearer_of(call) or "", call.at) < call.at
    ]
