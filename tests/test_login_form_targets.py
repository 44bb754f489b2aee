"""Where the form method sends a login form: where a browser would send it. The submit button's
formaction and formmethod, the page's <base href>, the form a field's `form` attribute names, a
<form> tag nested in another (which browsers ignore) and a browser's reading of backslashes all
decide it; a password a browser would post to another origin is refused before it leaves, as the
browser method refuses it."""

from dataclasses import replace

import pytest
from faulty_servers import Answer, HostileServer
from run import write_environment

from suite.configuration.environment import load_environment
from suite.wire.http import HttpClient, UntrustedEndpoint
from suite.wire.login import LoginConfigurationProblem
from suite.wire.login.form import FormLogin
from suite.wire.login.html_forms import forms_of

PAGE = "https://id.example/connect/authorize?client_id=web"
FIELDS = '<input name="username"><input type="password" name="password">'


@pytest.mark.parametrize(
    "html, method, action",
    [
        (f'<form method="post" action="/login">{FIELDS}<button>Sign in</button></form>', "POST", "/login"),
        (  # the default button's formaction and formmethod, not the form's
            f'<form method="post" action="/login">{FIELDS}<button formaction="https://other.example/take" '
            'formmethod="get">Sign in</button><button>Second</button></form>',
            "GET",
            "https://other.example/take",
        ),
        (  # a relative action against the page's <base href>, wherever the base stands
            f'<form method="post" action="login">{FIELDS}<input type="submit"></form>'
            '<base href="https://other.example/app/">',
            "POST",
            "https://other.example/app/login",
        ),
        (  # an empty action is the page's own URL, whatever the base says
            f'<base href="https://other.example/"><form method="post" action="">{FIELDS}<button>go</button></form>',
            "POST",
            PAGE,
        ),
        (  # a backslash is a slash to a browser: a host of its own, not a path of the issuer's
            f'<form method="post" action="\\\\other.example/take">{FIELDS}<button>go</button></form>',
            "POST",
            "https://other.example/take",
        ),
        (  # a <form> tag inside an open form is ignored: its fields are the outer form's
            '<form method="post" action="https://other.example/take"><form method="post" action="/login">'
            f"{FIELDS}<button>go</button></form>",
            "POST",
            "https://other.example/take",
        ),
        (  # a button that names another form by its `form` attribute is that form's, first in tree order
            f'<button form="f" formaction="https://other.example/take">go</button>'
            f'<form id="f" method="post" action="/login">{FIELDS}<button>Sign in</button></form>',
            "POST",
            "https://other.example/take",
        ),
        (  # an invalid method is GET
            f'<form method="put" action="/login">{FIELDS}<button>go</button></form>',
            "GET",
            "/login",
        ),
    ],
    ids=["plain", "formaction", "base-href", "empty-action", "backslashes", "nested-form", "form-attribute", "put"],
)
def test_a_login_form_is_sent_where_a_browser_sends_it(html, method, action):
    [form] = [f for f in forms_of(html, PAGE) if f.password_inputs]
    assert form.has_field("username") and form.has_field("password")
    assert form.submitted_by(None) == (method, action if "//" in action else "https://id.example" + action)


def test_a_consent_button_is_sent_where_it_says():
    [form] = forms_of(
        '<form method="post" action="/consent"><button name="decision" value="deny">No</button>'
        '<button name="decision" value="allow" formaction="/consent/granted">Yes</button></form>',
        PAGE,
    )
    assert form.submitted_by(form.button("decision", "allow")) == ("POST", "https://id.example/consent/granted")
    assert form.submitted_by(None) == ("POST", "https://id.example/consent")


def _sign_in(tmp_path, server, form_settings: str = "", denying_consent: bool = False):
    """The form method's sign-in of an SPA at `server`'s /connect/authorize, with `form_settings` (login.form);
    denying_consent: CONS-01's sign-in, which refuses consent the way login.form says."""
    text = (
        f"name: targets\nissuer: {server.url}\nhttp: {{retries: 0}}\nclients:\n  spa:\n    client_id: spa\n"
        "    redirect_uri: https://app.example/callback\n    scope: openid\n"
        "login:\n  method: form\n  username: test.user\n  password: ${T_PASSWORD}\n" + form_settings
    )
    environment = load_environment(str(write_environment(tmp_path, text)), {"T_PASSWORD": "form-target-pw"})
    environment = replace(environment, login=replace(environment.login, denying_consent=denying_consent))
    return FormLogin(environment, HttpClient(environment.http, environment.issuer)).authorize(
        f"{server.url}/connect/authorize", "https://app.example/callback"
    )


@pytest.mark.parametrize(
    "page",
    [
        '<form method="post" action="/login">{fields}<button formaction="{elsewhere}/take">go</button></form>',
        '<base href="{elsewhere}/"><form method="post" action="login">{fields}<button>go</button></form>',
        '<form method="post" action="/login">{fields}<button formaction="{elsewhere}/take" formmethod="get">go'
        "</button></form>",
    ],
    ids=["formaction", "base-href", "formaction-get"],
)
def test_the_form_method_refuses_to_send_the_password_where_a_browser_would_send_it_elsewhere(tmp_path, page):
    """It posted the password to the issuer's /login and AUTH-01 passed, while a browser would have
    sent it to the other origin (which the browser method refuses)."""
    elsewhere = HostileServer({})
    server = HostileServer({})
    server.routes["/connect/authorize"] = Answer(
        200,
        {"Content-Type": "text/html"},
        page.format(fields=FIELDS, elsewhere=elsewhere.url).encode(),
    )
    server.routes["/login"] = Answer(302, {"Location": "https://app.example/callback?code=c"})
    try:
        with pytest.raises(UntrustedEndpoint) as refusal:
            _sign_in(tmp_path, server)
    finally:
        server.close()
        elsewhere.close()
    assert f"refused to send password in {'GET' if 'get' in page else 'POST'} {elsewhere.url}/" in str(refusal.value)
    assert "is not the issuer's origin" in str(refusal.value)
    assert elsewhere.requests == [] and not [r for r in server.requests if r[1].startswith("/login")]


# LemonLDAP::NG 2.16's confirm.tpl: the decision in a hidden field that holds a token made for each page
LEMONLDAP_CONSENT = (
    b'<form method="post" action="/consent" class="confirm"><input type="hidden" name="confirm" value="{token}">'
    b'<button type="submit" class="positive">Accept</button><button type="button" class="negative">Refuse</button>'
    b"</form>"
)


def _consent_page_back(tmp_path, form_settings: str, denying_consent: bool = False) -> tuple[str, list]:
    """The configuration problem of a sign-in whose LemonLDAP::NG consent page comes back whatever is sent,
    and the requests the server had."""
    consent = Answer(200, {"Content-Type": "text/html"}, LEMONLDAP_CONSENT.replace(b"{token}", b"t-81f3"))
    server = HostileServer(
        {
            "/connect/authorize": Answer(
                200,
                {"Content-Type": "text/html"},
                f'<form method="post" action="/login">{FIELDS}<button>go</button></form>'.encode(),
            ),
            "/login": consent,
            "/consent": consent,
        }
    )
    try:
        with pytest.raises(LoginConfigurationProblem) as problem:
            _sign_in(tmp_path, server, form_settings, denying_consent)
    finally:
        server.close()
    return str(problem.value), server.requests


def test_a_consent_page_that_comes_back_after_the_configured_answer_is_a_configuration_problem(tmp_path):
    """The consent field sent with login.form.consent_value where the page wants its own token: the
    server shows the same consent page again, and again, which says the settings do not fit the page (a
    configuration problem naming the keys), not that the server's sign-in is broken (AUTH-01 failed)."""
    problem, requests = _consent_page_back(tmp_path, "  form:\n    consent_field: confirm\n")
    assert "login.form.consent_field / login.form.consent_value" in problem
    assert "confirm='allow'" in problem
    assert len([r for r in requests if r[1] == "/consent"]) == 1  # not sent again and again


def test_a_consent_page_that_comes_back_after_a_refusal_without_the_field_quotes_no_value(tmp_path):
    """CONS-01's refusal by login.form.consent_deny_omits_field sends no consent field: the page back says that
    refusal is not taken, naming that key and the ways out, never a placeholder as if it were a value sent."""
    settings = "  form:\n    consent_field: confirm\n    consent_deny_omits_field: true\n"
    problem, _ = _consent_page_back(tmp_path, settings, denying_consent=True)
    assert "login.form.consent_deny_omits_field" in problem and "sent without confirm" in problem, problem
    assert "left out" not in problem and "confirm=" not in problem, problem
    assert "login.form.consent_deny_value" in problem and "login.method: browser" in problem, problem
