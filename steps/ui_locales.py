"""AUTH-09: the login page honours ui_locales where the server offers the language (a minor rule:
the documentation calls ui_locales "preferred languages", OpenID Connect Core 3.1.2.1 lets a
server that cannot honour it go on, so a failure here is a warning, not a broken contract: the
scenario is @level:warning, and a failed check is reported "warned", the verdict staying conformant)."""

import re
from urllib.parse import urljoin

import pytest
from pytest_bdd import given, then, when

from suite.verdict.checks import check
from suite.wire.authorization import authorization_url
from suite.wire.http import ambiguity, origin_of
from suite.wire.login.html_forms import forms_of

MAX_HOPS = 10
HTML_LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([A-Za-z0-9-]+)", re.IGNORECASE)


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


@given("the discovery document offers a user interface language other than English")
def other_language_offered(state, discovery):
    listed = discovery.metadata.get("ui_locales_supported")
    offered = listed if isinstance(listed, list) else []
    others = [tag for tag in offered if isinstance(tag, str) and _primary(tag) != "en"]
    if not others:
        shown = "absent" if listed is None else f"{listed!r}"
        pytest.skip(
            f"discovery's ui_locales_supported is {shown}: no language but English is offered, so there "
            "is nothing to see (OpenID Connect Discovery section 3)"
        )
    state.ui_locale = others[0]


@when("the login page is opened with ui_locales naming that language first")
def open_login_page(state, environment, discovery):
    url = authorization_url(state, discovery, overrides={"ui_locales": f"{state.ui_locale} en"})
    origin = origin_of(environment.issuer)
    for _ in range(MAX_HOPS):
        response = state.http.send("GET", url)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if ambiguity(url) or origin_of(url) != origin:  # as the login method: only plain issuer addresses
                break
            continue
        if any(form.has_field(environment.login.password_field) for form in forms_of(response.text, url)):
            state.login_page = response.text
            return
        break
    pytest.skip(
        "no login page with a password field was served over plain HTTP from the issuer, so its language "
        "cannot be read (a page built by JavaScript?)"
    )


@then("the login page declares that language")
def login_page_language(state):
    match = HTML_LANG.search(state.login_page)
    declared = match.group(1) if match else None
    check(
        declared is not None and _primary(declared) == _primary(state.ui_locale),
        f"the login page declares lang={declared!r} although ui_locales asked for {state.ui_locale!r} first, a "
        'language discovery offers (ui_locales: "Preferred languages for user interface", Interactive '
        "Integrations, Step 1; OpenID Connect Core section 3.1.2.1)",
    )
