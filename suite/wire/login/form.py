"""The `form` login method: plain HTTP, posting the login and consent forms like a browser would."""

from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from suite.wire.http import (
    AMBIGUOUS,
    POLICY_CITED,
    UNPLAIN_ADVICE,
    HttpClient,
    PolicyRefusal,
    UntrustedEndpoint,
    ambiguity,
    origin_of,
    redact_url,
)
from suite.wire.login import LoginConfigurationProblem, Outcome, is_redirect_to
from suite.wire.login.html_forms import forms_of, refresh_of, sends_on

MAX_HOPS = 15


# What Outcome.consent says of a consent form submitted without its consent field (a refusal).
CONSENT_FIELD_LEFT_OUT = "(consent field left out)"


class FormLogin:
    def __init__(self, environment, http: HttpClient) -> None:
        self.login, self.http = environment.login, http
        self.issuer_origin = origin_of(environment.issuer)

    def authorize(self, authorization_url: str, redirect_uri: str, form: dict | None = None) -> Outcome:
        """form: the request's parameters, POSTed form-encoded to authorization_url (the endpoint)
        instead of sent in its query (OpenID Connect Core section 3.1.2.1)."""
        method, url, data = ("GET" if form is None else "POST"), authorization_url, form
        signed_in, consent, redirected = False, "", False
        login_page: str | None = None  # while the answer awaited is the one to the credentials: the page typed on
        consent_sent: tuple | None = None  # the consent form last submitted (where to, its fields), since a login
        for _ in range(MAX_HOPS):
            fields: dict[str, Any] = {"params": data} if method == "GET" else {"data": data}
            cookies_before = self._cookies()
            response = self.http.send(method, url, answer="login or consent page", **fields)
            answered_credentials, login_page = login_page, None
            if response.is_redirect:
                location = urljoin(url, response.headers["Location"])
                if is_redirect_to(location, redirect_uri):
                    return Outcome("callback", location, signed_in=signed_in, consent=consent)
                _refuse_ambiguous(location, redirect_uri)
                if origin_of(location) != self.issuer_origin:
                    return Outcome("left", location, response.status_code, signed_in=signed_in, consent=consent)
                method, url, data, redirected = "GET", location, None, True
                continue
            redirected = False
            forms = forms_of(response.text, url)
            if self.login is None and self._own_login_forms(forms, redirect_uri):
                # No test user to sign in (a service-only file): the server asks for a sign-in before it
                # answers, and what it would have answered after it is unknown
                return Outcome("sign_in_needed", url, response.status_code)
            page_form, data, button = self._next_form(forms) if self.login is not None else (None, None, None)
            if page_form is None:
                self._check_page_fits_settings(forms, url, redirect_uri)
                refresh = response.headers.get("Refresh", "")
                if answered_credentials and self._cookies() == cookies_before and not sends_on(response.text, refresh):
                    # The credentials' own answer is a page that goes nowhere, and nothing shows the server
                    # took them (no redirect onward, no session cookie set): how a page shows a failed
                    # sign-in is bound by no document, so this is no evidence against the authorization
                    # endpoint (docs/certify-server.md "A test user the login page refuses")
                    return Outcome(
                        "sign_in_stalled",
                        url,
                        response.status_code,
                        signed_in=True,
                        body=response.text,
                        login_page=answered_credentials,
                    )
                return Outcome(
                    "page",
                    url,
                    response.status_code,
                    signed_in=signed_in,
                    body=response.text,
                    consent=consent,
                    refresh=refresh_of(response.text, refresh),  # a meta refresh too: the form method follows none
                )
            assert self.login is not None and data is not None  # without a login, no form is submitted
            if page_form.has_field(self.login.password_field):
                if signed_in:
                    return Outcome("login_failed", url, response.status_code, signed_in=True, consent=consent)
                signed_in, login_page, consent_sent = True, url, None
            else:
                consent = data.get(self.login.consent_field, CONSENT_FIELD_LEFT_OUT)
                consent_sent = self._check_consent_taken(consent_sent, page_form, button, url, consent)
            # where a browser sends the form: the button's formaction and formmethod, the page's <base href>
            method, url = page_form.submitted_by(button)
        return Outcome("redirect_loop" if redirected else "loop", url, signed_in=signed_in, consent=consent)

    def _next_form(self, forms):
        """The form to submit on this page with its data and the button that submits it (None: its default
        button): the login form or the consent form."""
        for form in forms:
            if form.has_field(self.login.password_field):
                if not form.has_field(self.login.username_field):
                    raise LoginConfigurationProblem(
                        f"login.form.username_field: the login page {_page(form.action)} has no field "
                        f"{self.login.username_field!r}; it offers {_offered([form])}. Set login.form to those names"
                    )
                data = {
                    **form.fields,
                    self.login.username_field: self.login.username,
                    self.login.password_field: self.login.password,
                }
                return form, data, None
            # the consent form: its granting button, or a POST form with buttons and the field as an input (a
            # hidden decision, unnamed buttons, a script setting the refusal), sent with the field set to the file's
            # value (fixed values only: LemonLDAP::NG 2.16's confirm holds a token per page, see docs)
            hidden = form.method == "POST" and form.buttons and form.has_field(self.login.consent_field)
            granting = form.button(self.login.consent_field, self.login.consent_value)
            if granting or hidden:
                if self.login.denying_consent and self.login.consent_deny_omits_field:
                    # the refusing button sends the consent form without the granting field
                    return (
                        form,
                        {name: value for name, value in form.fields.items() if name != self.login.consent_field},
                        None,
                    )
                return form, {**form.fields, self.login.consent_field: self.login.consent_value}, granting
        return None, None, None

    def _check_consent_taken(self, sent, form, button, url: str, answer: str) -> tuple:
        """The consent form about to be submitted (where to, its fields), once it is not the one just
        submitted: the same consent page back after the configured answer says the server did not take
        that answer as one (LemonLDAP::NG 2.16's confirm wants the token it made for the page), a page the
        settings do not describe. Sent again, it would come back until the flow went through too many pages."""
        this = (form.submitted_by(button), sorted(form.fields))
        if this == sent and answer == CONSENT_FIELD_LEFT_OUT:
            # the refusal sends no consent field: there is no value of it to quote, or to set otherwise
            raise LoginConfigurationProblem(
                f"login.form.consent_deny_omits_field: the consent page {_page(url)} came back after it was sent "
                f"without {self.login.consent_field}, as the refusal: the server does not take that as an answer. "
                "Set login.form.consent_deny_value to the refusing button's field and value, or sign in with "
                "login.method: browser and its login.browser.deny_consent (docs/certify-server.md)"
            )
        if this == sent:
            raise LoginConfigurationProblem(
                f"login.form.consent_field / login.form.consent_value: the consent page {_page(url)} came back after "
                f"it was sent with {self.login.consent_field}={answer!r}: the server does not take that as an "
                "answer. Set login.form to the button's field and value; a field that holds a value made for each page "
                "(LemonLDAP::NG 2.16's confirm) cannot be named in a file: sign in with login.method: browser "
                "(docs/certify-server.md)"
            )
        return this

    def _cookies(self) -> dict:
        """The browser's cookies, each with its value: one set or changed by an answer shows a session begun."""
        return {(c.domain, c.path, c.name): c.value for c in self.http.session.cookies}

    def _own_login_forms(self, forms, redirect_uri) -> list:
        """The issuer's forms with a password input (not one that posts to the redirect URI)."""
        return [
            f
            for f in forms
            if f.password_inputs
            and origin_of(f.submitted_by(None)[1]) == self.issuer_origin
            and not is_redirect_to(f.submitted_by(None)[1], redirect_uri)
        ]

    def _check_page_fits_settings(self, forms, url, redirect_uri) -> None:
        """A page with a password input, or a form posted back to the issuer, is a login or consent
        page the settings do not describe: the suite cannot go on, and the server is not at fault.
        A form that posts to the redirect URI or elsewhere is no such page (AUTH-05 judges it)."""
        if self.login is None:
            return  # nobody to sign in: the page is what the server answered
        own = [
            f
            for f in forms
            if origin_of(f.submitted_by(None)[1]) == self.issuer_origin
            and not is_redirect_to(f.submitted_by(None)[1], redirect_uri)
        ]
        login = self._own_login_forms(forms, redirect_uri)
        if login:
            raise LoginConfigurationProblem(
                f"login.form.username_field / login.form.password_field: the login page {_page(url)} has no field "
                f"{self.login.password_field!r}; it offers {_offered(login)}. Set login.form to those names"
            )
        identifier_first = [f for f in own if f.has_field(self.login.username_field) and not f.password_inputs]
        if identifier_first:
            raise LoginConfigurationProblem(
                f"login.method: the login page {_page(url)} asks for {self.login.username_field!r} without a "
                f"password field ({_offered(identifier_first)}): a two-step (identifier-first) sign-in. The form "
                "method submits one login form and cannot drive a sign-in across pages; use login.method: browser "
                "(docs/certify-server.md, Signing in)"
            )
        consent = [f for f in own if f.method == "POST" and f.buttons]
        if consent:
            raise LoginConfigurationProblem(
                f"login.form.consent_field / login.form.consent_value: the page {_page(url)} offers no button "
                f"{self.login.consent_field}={self.login.consent_value!r}; it offers {_offered(consent)}. "
                "Set login.form to the button that grants access"
            )


def _offered(forms) -> str:
    fields = sorted({name for f in forms for name in f.fields} | {name for f in forms for name in f.password_inputs})
    buttons = [f"{b.name}={b.value!r}" if b.name else f"(unnamed button {b.value!r})" for f in forms for b in f.buttons]
    return f"fields {', '.join(fields) or '(none)'} and buttons {', '.join(buttons) or '(none)'}"


def _page(url: str) -> str:
    return redact_url(url)


def _refuse_ambiguous(location: str, redirect_uri: str) -> None:
    """A redirect to an address parsers read differently is not followed: the session's cookies would
    go wherever the HTTP client's parser reads its host, which need not be the one a check reads. Where it
    carries an authorization response (a code or an error) it is the server's failure: RFC 6749 delivers one
    only to the redirection URI the request named, which this address is not. A hop of the login pages is
    no failure (RFC 6749 section 3.1 leaves them to the server): the sign-in cannot go on, a configuration
    problem."""
    odd = ambiguity(location)
    if not odd:
        return
    refused = f"refused to follow the redirect to {redact_url(location)}: {AMBIGUOUS} ({odd})"
    if _carries_a_response(location):
        raise UntrustedEndpoint(
            f"{refused}, and it is not the redirect_uri the request named ({redact_url(redirect_uri)}), where an "
            "authorization response goes. " + RESPONSE_TO_THE_REDIRECT_URI
        )
    raise PolicyRefusal(f"{refused}, so it is not the issuer's origin for certain. {UNPLAIN_ADVICE} {POLICY_CITED}")


# Where an authorization response goes: the redirection URI of the request, and nowhere else
RESPONSE_TO_THE_REDIRECT_URI = (
    'RFC 6749 section 4.1.2: the authorization server "issues an authorization code and delivers it to the client '
    'by adding the following parameters to the query component of the redirection URI"; an error goes there too '
    "(section 4.1.2.1)"
)


def _carries_a_response(location: str) -> bool:
    """Whether an address carries an authorization response's code or error (RFC 6749 section 4.1.2, 4.1.2.1),
    in its query or its fragment."""
    try:
        parts = urlsplit(location)
    except ValueError:  # an IPv6 bracket left open: no query the suite can read
        return False
    fields = {**parse_qs(parts.query), **parse_qs(parts.fragment)}
    return "code" in fields or "error" in fields
