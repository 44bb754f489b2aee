"""Login methods: how the suite gets from an authorization URL to the callback.

A method takes the authorization URL and the redirect URI and returns an `Outcome`: the
callback URL the browser was sent to, or the page where the flow stopped. The redirect to the
redirect URI is caught, never followed, so no listener runs there. Steps only see `Outcome`,
so new methods (a real browser, a person pasting the callback) slot in here.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from suite.verdict.checks import ConfigurationProblem

if TYPE_CHECKING:  # the login methods import this module; login_method imports them when it runs
    from suite.wire.http import HttpClient
    from suite.wire.login.browser import BrowserLogin
    from suite.wire.login.form import FormLogin
    from suite.wire.login.manual import ManualLogin


# What Outcome.consent says of a browser sign-in where an entry of login.browser.deny_consent ran (CONS-01).
CONSENT_DENIED = "login.browser.deny_consent"
# ... and of one where a page login.browser.deny_consent describes came and login.browser.pages granted it: the
# evidence that the server asks for consent (CONS-01, on a server that remembers it)
CONSENT_GRANTED = "login.browser.pages"


@dataclass
class Outcome:
    """Where an authorization ended.

    kind: "callback" (the browser was sent to the redirect URI: `url`), "left" (sent to
    another site than the issuer: `url`), "page" (stopped on a page with nothing to fill in,
    such as an error page: `url`, `status`, `body`), "login_failed" (the login form came back
    after signing in), "sign_in_stalled" (the answer to the credentials was a page that goes nowhere and
    shows nothing of a sign-in accepted: `url`, `status`, `body`, and `login_page`, where they were
    typed), "loop" (too many pages), "redirect_loop" (too many redirects in a row: `url`, the last),
    "load_stopped" (the actions started a page load that stopped in
    the browser, not at the server's answer: `url` says where, and why), "no_answer" (the person
    pasted nothing) or
    "sign_in_needed" (a login page came, and the environment has no `login` section to sign in with).

    signed_in: the method saw the login page and submitted the test user's credentials on it,
    the proof that a code was issued to a user who signed in.

    consent: the value of the consent button the method pressed ("" when no consent page came),
    the proof that a consent decision was really made."""

    kind: str
    url: str | None = field(default=None, repr=False)  # a callback URL carries the code
    status: int | None = None
    signed_in: bool = False
    body: str = field(default="", repr=False)  # the HTML of the page the flow stopped on
    consent: str = ""
    # the refresh that page asks for (its Refresh header, or a meta refresh), where the method follows none
    refresh: str = field(default="", repr=False)
    login_page: str | None = field(
        default=None, repr=False
    )  # "sign_in_stalled": the page the credentials were typed on
    # a page the method filled and submitted without typing the password (a page asking for a name alone): what
    # AUTH-01 says happened where the code came with no sign-in
    filled_without_password: str | None = field(default=None, repr=False)

    @property
    def callback_url(self) -> str | None:
        return self.url if self.kind == "callback" else None

    @property
    def left_to(self) -> str | None:
        return self.url if self.kind == "left" else None

    @property
    def callback_params(self) -> dict:
        """Parameters of the callback, each once (a repeated one keeps its first value): from the
        query, and from the fragment, where responses of the implicit kind put them (RFC 6749
        section 4.2.2.1); the query wins where both have one."""
        return {**self.fragment_params, **self.query_params}

    @property
    def query_params(self) -> dict:
        return _params(urlsplit(self.callback_url).query) if self.callback_url else {}

    @property
    def fragment_params(self) -> dict:
        return _params(urlsplit(self.callback_url).fragment) if self.callback_url else {}

    def describe(self) -> str:
        from suite.wire.http import redact_url  # a callback URL carries the code: never shown

        url = redact_url(self.url) if self.url else self.url
        return {
            "callback": f"the browser was sent to {url}",
            "left": f"the browser was sent away from the issuer, to {url}",
            "page": f"the flow stopped on {url}, "
            + (f"a page answered with HTTP {self.status}" if self.status else "a page whose HTTP status was not seen")
            + " with no form to fill in"
            + (
                f"; it asks to be refreshed ({redact_url(self.refresh)}), which the form method does not follow: a "
                "browser would (login.method: browser)"
                if self.refresh
                else ""
            ),
            "login_failed": f"signing in failed on {url}: check login.username and login.password",
            "sign_in_stalled": f"the sign-in was answered with {url} (HTTP {self.status}), a page that goes nowhere",
            "loop": f"the flow went through too many pages, last {url}",
            "redirect_loop": f"too many redirects: the server redirects in a loop, last to {url}",
            "load_stopped": f"the page's actions started a load that stopped in the browser, not at a page of the "
            f"server's: {url}; the page stayed as it was",
            "no_answer": "no address was pasted back",
            "sign_in_needed": f"the server asked for a sign-in on {url}, and the environment has no login section",
        }[self.kind]


class LoginConfigurationProblem(ConfigurationProblem):
    """The environment's login settings do not fit the server's pages: a configuration problem
    (exit code 4), not a non-conformance of the server."""


def _params(source: str) -> dict:
    """Each parameter once; a repeated one keeps its first value."""
    return {name: values[0] for name, values in parse_qs(source, keep_blank_values=True).items()}


def is_redirect_to(location: str, redirect_uri: str) -> bool:
    """True when `location` is `redirect_uri` plus response parameters."""
    target, expected = urlsplit(location), urlsplit(redirect_uri)
    return (target.scheme, target.netloc, target.path) == (expected.scheme, expected.netloc, expected.path)


def login_method(environment, http: "HttpClient") -> "BrowserLogin | FormLogin | ManualLogin":
    from suite.wire.login.browser import BrowserLogin
    from suite.wire.login.form import FormLogin
    from suite.wire.login.manual import ManualLogin

    methods: dict[str, type[BrowserLogin | FormLogin | ManualLogin]] = {
        "form": FormLogin,
        "browser": BrowserLogin,
        "manual": ManualLogin,
    }
    # Without `login` (a service-only file: suite.configuration.environment requires it for any other
    # role), plain HTTP goes as far as the server answers without a sign-in
    return methods[environment.login.method if environment.login else "form"](environment, http)
