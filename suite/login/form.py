"""The `form` login method: plain HTTP, posting the login and consent forms like a browser would."""

from urllib.parse import urljoin, urlsplit

from . import Outcome, is_redirect_to
from .html_forms import forms_of

MAX_HOPS = 15


class FormLogin:
    def __init__(self, environment, http):
        self.login, self.http = environment.login, http
        self.issuer_origin = _origin(environment.issuer)

    def authorize(self, authorization_url: str, redirect_uri: str) -> Outcome:
        method, url, data = "GET", authorization_url, None
        signed_in = False
        for _ in range(MAX_HOPS):
            response = self.http.send(method, url, **({"params": data} if method == "GET" else {"data": data}))
            if response.is_redirect:
                location = urljoin(url, response.headers["Location"])
                if is_redirect_to(location, redirect_uri):
                    return Outcome("callback", location)
                if _origin(location) != self.issuer_origin:
                    return Outcome("left", location, response.status_code)
                method, url, data = "GET", location, None
                continue
            form, data = self._next_form(response.text, url)
            if form is None:
                return Outcome("page", url, response.status_code)
            if form.has_field(self.login.password_field):
                if signed_in:
                    return Outcome("login_failed", url, response.status_code)
                signed_in = True
            method, url = form.method, form.action
        return Outcome("loop", url)

    def _next_form(self, html: str, page_url: str):
        """The form to submit on this page with its data: the login form or the consent form."""
        for form in forms_of(html, page_url):
            if form.has_field(self.login.password_field):
                data = {**form.fields, self.login.username_field: self.login.username,
                        self.login.password_field: self.login.password}
                return form, data
            if form.has_button(self.login.consent_field, self.login.consent_value):
                return form, {**form.fields, self.login.consent_field: self.login.consent_value}
        return None, None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
