"""Where an application's tokens and secret must not turn up (APPC-26, APPC-27, APPC-28): each leak
is found in whatever encoding the application wrote it, and what the suite keeps of a leak (the
record, the Allure results, JUnit XML, the terminal) carries none of the leaked values."""

import json
from urllib.parse import quote, quote_plus

import outputs
import pytest
from run import certify_web_app_verbosely

from appside.steps.leaks import leaked

# characters HTTP Basic, URLs and JSON each encode their own way (with "%" or a non-ASCII letter the
# reference app's sign-in does not complete yet: the stand-in answers invalid_client, issue 28)
SECRET = 'Sec+ret/:="x" &~-4c9e1f7b-DO-NOT-LEAK'


def test_a_secret_is_found_raw_url_encoded_and_json_escaped_and_nowhere_else():
    secrets = {SECRET + "%2Fü": "client secret", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl": "access token"}
    assert leaked(f"?client_secret={quote_plus(SECRET + '%2Fü')}", secrets) == ["client secret"]
    assert leaked(f"/p?x={quote(SECRET + '%2Fü', safe='')}", secrets) == ["client secret"]
    assert leaked(json.dumps({"secret": SECRET + "%2Fü"}), secrets) == ["client secret"]
    every_character = "".join(f"\\u{ord(c):04x}" for c in SECRET)  # JSON, as some serializers write it
    assert leaked(f'{{"secret": "{every_character}"}}', secrets | {SECRET: "raw secret"}) == ["raw secret"]
    in_html = "".join(f"&#{ord(c)};" for c in SECRET)
    assert leaked(f"<input value='{in_html}'>", secrets | {SECRET: "raw secret"}) == ["raw secret"]
    assert leaked("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", secrets) == ["access token"]
    assert leaked("Sec+ret/ and eyJhbGciOiJSUzI1NiJ9 alone: parts are no leak", secrets) == []


def test_a_secret_printed_in_a_python_repr_or_quoted_by_the_shell_is_found():
    """A service that prints its configuration: Python writes a str with both quotes as '...\\'...', bash's
    set -x a quote as '\\'', printf %q with backslashes, each of them a leak of the same secret."""
    secret = "Ab1'x\"yz0123456789é"
    secrets = {secret: "client secret"}
    assert leaked(f"secret={secret!a}", secrets) == ["client secret"]
    assert leaked(f"starting with config { ({'client_secret': secret}) }", secrets) == ["client secret"]
    assert leaked(repr(secret.encode()), secrets) == ["client secret"]
    assert leaked("+ curl --data-urlencode 'client_secret=Ab1'\\''x\"yz0123456789é'", secrets) == ["client secret"]
    assert leaked("client_secret=Ab1\\'x\\\"yz0123456789é", secrets) == ["client secret"]  # printf %q
    assert leaked("Ab1'x and yz0123456789é apart, or Ab1\\'x\\\"yz01 cut: no leak", secrets) == []


def test_each_leak_fails_its_rule_and_no_leaked_value_reaches_any_output(tmp_path):
    completed, reports, witness = certify_web_app_verbosely(
        tmp_path, SECRET, "token-in-api-url,token-in-page,token-logged", "APPC-26", "APPC-27", "APPC-28"
    )
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 1, terminal[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert record["failed_rules"] == ["APPC-26", "APPC-27", "APPC-28"], terminal[-3000:]
    reasons = {rule["rule_id"]: rule["scenarios"][0]["reason"] for rule in record["rules"]}
    assert "access token was sent in the URL of GET /api/v1/me" in reasons["APPC-26"]
    # the page's body, not its URL: the URL only says which page it was
    assert "sent its access token to the browser, in the body of the page served at " in reasons["APPC-27"]
    # the token response printed whole: both tokens named (the refresh token was left unsaid)
    assert "wrote its access token and refresh token to the launched application's output" in reasons["APPC-28"]

    secrets = set(witness.read_text().split()) | {SECRET}
    assert len(secrets) > 3, f"only {len(secrets)} secrets witnessed"
    found = outputs.leaked(outputs.every_output(terminal, reports, tmp_path), secrets)
    assert not found, f"secrets found in output: {found[:10]}"


def test_a_token_in_the_api_url_is_seen_where_the_api_is_used_only_on_a_page(tmp_path):
    """An application that calls the Visma API only when a page needs it (drive.use_api_url), with
    the access token in the URL's query alone: APPC-26 sees that use of the API too."""
    completed, reports, _ = certify_web_app_verbosely(tmp_path, SECRET, "greeting-only,token-in-api-query", "APPC-26")
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 1, terminal[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    rule = next(r for r in record["rules"] if r["rule_id"] == "APPC-26")
    assert "access token was sent in the URL of GET /api/v1/me" in rule["scenarios"][0]["reason"], terminal[-3000:]


def test_tokens_in_a_signed_session_cookie_fail_appc27_naming_the_cookie_not_its_value(tmp_path):
    """Flask's session is a signed cookie, not an encrypted one: the tokens kept in it are given to the
    browser (RFC 6749 section 2.1). The cookie is named; no token reaches any output."""
    completed, reports, witness = certify_web_app_verbosely(tmp_path, SECRET, "tokens-in-session-cookie", "APPC-27")
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 1, terminal[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert record["failed_rules"] == ["APPC-27"], terminal[-3000:]
    reason = next(r for r in record["rules"] if r["rule_id"] == "APPC-27")["scenarios"][0]["reason"]
    assert "in the browser's cookie 'session'" in reason and "signed, not encrypted" in reason, reason
    secrets = set(witness.read_text().split()) | {SECRET}
    found = outputs.leaked(outputs.every_output(terminal, reports, tmp_path), secrets)
    assert not found, f"secrets found in output: {found[:10]}"


def _error_page_flow(page: str):
    """APPC-27's evidence where only a refused sign-in's error page (the flow of a fault, not a normal sign-in)
    shows the secret: the normal sign-in's page shows nothing."""
    from appside.browser_driver import SignIn
    from appside.observed import Observed
    from appside.steps.sign_ins import AppRun

    normal = SignIn(True, contents=[("http://127.0.0.1:5081/profile", "<p>Signed in.</p>", "page")], cookies=[])
    refused = SignIn(False, contents=[("http://127.0.0.1:5081/callback?error=access_denied", page, "dom")])
    return AppRun(sign_ins=[normal], observed=[Observed([])]), [("sign-in with access-denied", [refused], Observed([]))]


SECRET = "s3cr+t/x%41 y:z&\"q'é~"


@pytest.mark.parametrize(
    "page",
    [
        f"<html><head><title>Sign-in failed {SECRET}</title></head><body><p>Sign-in failed</p></body></html>",
        "<p>spans: " + "".join(f"<span>{c}</span>" for c in SECRET) + "</p>",  # spread over elements
        "<p>" + " ".join(SECRET.upper()) + "</p>",  # spaced out, in other letter case
        "<p>" + SECRET.replace("s", "\u0455").replace("c", "\u0441") + "</p>",  # Cyrillic look-alikes
        "<p>codes: " + " ".join(str(b) for b in SECRET.encode()) + "</p>",  # its bytes as numbers
    ],
    ids=["title", "spans", "spaced-upper", "look-alikes", "decimal-bytes"],
)
def test_appc27_reads_the_error_pages_of_refused_sign_ins_as_the_screenshot_guard_does(monkeypatch, page):
    """An outsider's application showed its client secret on the error page after access_denied and a refused
    ID token (in <title>, and one character per <span>): APPC-27 read only the normal sign-ins' pages and
    passed, while the screenshot of that page was withheld for it. Every flow's pages are read, with the
    screenshot guard's detection, and the failure names the sign-in and the page."""
    from types import SimpleNamespace

    from appside.steps import leaks
    from suite.verdict.checks import NonConformance

    app_run, flows = _error_page_flow(page)
    monkeypatch.setattr(leaks, "every_flow_made", lambda: flows)
    application = SimpleNamespace(app_type="web", client_secret=SECRET, is_interactive=True)
    with pytest.raises(
        NonConformance, match=r"client secret.*callback\?error=access_denied.*'sign-in with access-deni"
    ):
        leaks.nothing_secret_in_pages(application, app_run)
    clean_run, clean_flows = _error_page_flow("<p>Sign-in failed: access_denied</p>")
    monkeypatch.setattr(leaks, "every_flow_made", lambda: clean_flows)
    with pytest.raises(Exception) as nothing:  # no token was issued: nothing to judge them by, the secret passes
        leaks.nothing_secret_in_pages(application, clean_run)
    assert not isinstance(nothing.value, NonConformance), nothing.value


@pytest.mark.parametrize("carried", ["nothing", "the secret in HTTP Basic"])
def test_appc32_fails_a_credential_sent_elsewhere_and_passes_a_request_that_carries_none(monkeypatch, carried):
    """An outsider's react-oidc-context SPA was NOT CONFORMANT for an analytics beacon of {event, status} (the
    suite's policy, cited as no RFC's), and passed with its access token in a partner API's Authorization
    header. What the browser held on its way elsewhere is judged on what it carried, in any encoding."""
    import base64
    from types import SimpleNamespace

    from appside.browser_driver import SignIn
    from appside.browser_guard import SentElsewhere
    from appside.observed import Observed
    from appside.steps import leaks
    from appside.steps.sign_ins import AppRun
    from suite.verdict.checks import NonConformance

    beacon = SentElsewhere("POST", "https://telemetry.example/collect", (), '{"event":"viewed","status":200}', "ping")
    basic = "Basic " + base64.b64encode(f"app:{SECRET}".encode()).decode()
    sync = SentElsewhere("POST", "https://api.partner-crm.example/v1/sync", (("authorization", basic),), "", "fetch")
    sent = [beacon] + ([sync] if carried != "nothing" else [])
    app_run = AppRun(sign_ins=[SignIn(True, sent_elsewhere=sent)], observed=[Observed([])])
    monkeypatch.setattr(leaks, "every_flow_made", lambda: [])
    application = SimpleNamespace(app_type="spa", client_secret=SECRET, is_interactive=True)
    try:
        leaks.credentials_only_where_they_may_go(application, app_run)
        outcome: BaseException | None = None
    except BaseException as raised:  # no token was issued: the rule says it has nothing more to look for
        outcome = raised
    if carried == "nothing":
        assert not isinstance(outcome, NonConformance), outcome
    else:
        assert isinstance(outcome, NonConformance), outcome
        assert "client secret to https://api.partner-crm.example, in its authorization header" in str(outcome)
        assert "RFC 6749 section 10.1" in str(outcome) and SECRET not in str(outcome)


def test_the_request_log_keeps_every_header_bounded_and_its_own_checks_first():
    """A refresh token in a header of the client's own (an Apache mod_auth_openidc backend sent it as
    X-Refresh-Token) is in the log APPC-32 reads; a client's huge headers never push out the Authorization."""
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from sandbox.recording import HEADERS_CUT_NOTE, MAX_RECORDED_HEADERS, RecordingMiddleware, RequestLog

    log = RequestLog()
    client = Client(RecordingMiddleware(Response("ok"), log))
    client.get(
        "/api/v1/me",
        headers={
            "X-Trace": "x" * MAX_RECORDED_HEADERS,
            "X-Refresh-Token": "rt-1234567890",
            "Authorization": "Bearer at-1234567890",
        },
    )
    (entry,) = log.entries()
    assert entry.headers["X-Refresh-Token"] == "rt-1234567890"
    assert entry.headers["Authorization"] == "Bearer at-1234567890" and "X-Trace" not in entry.headers
    assert entry.notes[HEADERS_CUT_NOTE] == 1


def test_a_refresh_token_in_a_header_of_its_own_fails_appc32_and_reaches_no_output(tmp_path):
    completed, reports, witness = certify_web_app_verbosely(tmp_path, SECRET, "refresh-token-in-header", "APPC-32")
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 1, terminal[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert record["failed_rules"] == ["APPC-32"], terminal[-3000:]
    reason = next(r for r in record["rules"] if r["rule_id"] == "APPC-32")["scenarios"][0]["reason"]
    assert "refresh token to a resource server, the stand-in's Visma API, in its X-Refresh-Token header" in reason
    secrets = set(witness.read_text().split()) | {SECRET}
    found = outputs.leaked(outputs.every_output(terminal, reports, tmp_path), secrets)
    assert not found, f"secrets found in output: {found[:10]}"


def test_appc27_names_every_credential_a_page_carried():
    """An Apache mod_auth_openidc debug page showed OIDC_access_token and OIDC_refresh_token; APPC-27 named the
    access token alone."""
    from appside.steps.leaks import _judge_page
    from suite.verdict.checks import NonConformance

    secrets = {"at-4c9e1f7b-0123456789": "access token", "rt-4c9e1f7b-0123456789": "refresh token"}
    page = "<pre>OIDC_access_token: at-4c9e1f7b-0123456789\nOIDC_refresh_token: rt-4c9e1f7b-0123456789</pre>"
    with pytest.raises(NonConformance, match="sent its access token and refresh token to the browser, in the body"):
        _judge_page("normal sign-in 1", "http://127.0.0.1:12801/app/", page, "page", secrets)


def test_a_request_held_on_its_way_elsewhere_is_named_without_its_values():
    """An outsider's page sent its tokens and secret reversed and base64-encoded in `?e=`, which no scrubber
    knows: APPC-32's message and the "requests refused" attachment quoted the URL whole, so every output held
    them. It is named by origin, path and parameter names only; a bare value or a long path segment by length."""
    import base64

    from appside.browser_guard import SentElsewhere, named

    hidden = base64.b64encode(b"access-token-and-secret-" * 3).decode()[::-1]
    url = f"https://user:pw@collector.example:8443/c/{hidden}/beacon?e={hidden}&v=2&e=again#f={hidden}"
    assert named(url) == "https://collector.example:8443/c/(96 characters)/beacon?e=…&v=…"
    assert named(f"http://collector.example/x?{hidden}") == "http://collector.example/x?(a value)=…"
    sent = SentElsewhere("POST", url, (("x-data", hidden),), hidden, "fetch")
    assert hidden not in sent.named and sent.named.startswith("fetch POST https://collector.example:8443/c/")


def test_a_secret_wrapped_in_the_blobs_a_hostile_application_makes_is_found():
    """An outsider's application wrote its access token gzip-compressed and base64-encoded, sent it reversed
    and base64-encoded in a URL, and base64-encoded twice: APPC-28, APPC-32 and APPC-27 read none of them.
    Each is unwrapped (forward and reversed, gzip and zlib inflated, two layers), bounded."""
    import base64
    import gzip
    import json
    import secrets
    import zlib

    from appside.browser_guard import readable_body
    from appside.steps.leaks import leaked
    from suite.secrets.redaction import UNPACKED_KEPT, unpacked

    token = "eyJ" + secrets.token_urlsafe(600)  # a long token: its reversed forms are no encoding looked for
    found = {token: "access token"}
    disguises = {
        "gzip in base64": "TZLIB: " + base64.b64encode(gzip.compress(token.encode())).decode(),
        "zlib in base64": "x " + base64.b64encode(zlib.compress(token.encode())).decode(),
        "reversed base64": "GET /sw.js?e=" + base64.b64encode(token.encode()).decode()[::-1],
        "base64 twice": "ctx=" + base64.b64encode(base64.b64encode(token.encode())).decode(),
    }
    for disguise, text in disguises.items():
        assert leaked(text, found) == ["access token"], disguise
    assert leaked("id=" + secrets.token_hex(16) * 4, found) == []
    # a held beacon's gzip body (compression=gzip-js, as an analytics library sends one), and by Content-Encoding
    body = gzip.compress(json.dumps({"session": {"access_token": token}}).encode())
    assert token in readable_body(body, {}, "http://collector.example/e/?compression=gzip-js")
    assert token in readable_body(zlib.compress(token.encode())[2:-4], {"Content-Encoding": "deflate"}, "http://c/")
    # bounded: a zip bomb is inflated no further than the bound
    bomb = base64.b64encode(gzip.compress(b"0" * (UNPACKED_KEPT * 2))).decode()
    assert sum(map(len, unpacked(bomb))) <= UNPACKED_KEPT * 2


def test_the_evidence_of_a_secret_in_a_blob_masks_the_blob():
    """Found in a reversed base64 blob, the leak's message quoted the blob: the token recoverable from it."""
    import base64
    import secrets

    from suite.secrets.redaction import REDACTOR, excerpt

    token = secrets.token_urlsafe(48)
    REDACTOR.register(token, "access_token")
    blob = base64.b64encode(token.encode()).decode()[::-1]
    shown = excerpt(f"GET /sw.js?e={blob}&v=1", limit=500)
    assert blob not in shown and "[a blob of" in shown and "holding a secret]" in shown and "&v=1" in shown
