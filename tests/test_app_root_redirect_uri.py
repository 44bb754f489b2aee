"""Application side: an application's callback is the registered redirect URI exactly (scheme, host, port
and path) carrying an authorization response (a code or an error), not any address under it. An
application whose redirect URI is its root (npm oidc-spa's always is; many react-oidc-context apps use
window.location.origin) serves its sign-in page under it too: APPC-31's hold on another browser's callback
caught that page, and the clean application could never be certified ("could not be checked")."""

import json

import pytest
from run import certify_application

from appside.browser_driver import HeldCallback, at_redirect_uri, is_callback
from appside.matrix import special_secret
from appside.stand_in import free_port

ROOT_URI = ("http://127.0.0.1:12011/",)
APP_URI = ("http://127.0.0.1:12011/app/",)


def test_a_page_under_the_redirect_uri_or_at_it_without_a_response_is_no_callback():
    assert not is_callback("http://127.0.0.1:12011/login", ROOT_URI)  # the sign-in page under the root
    assert not is_callback("http://127.0.0.1:12011/", ROOT_URI)  # the root itself, no response
    assert not is_callback("http://127.0.0.1:12011/?page=2", ROOT_URI)
    assert not is_callback("http://127.0.0.1:12011/app/login", APP_URI)  # sign-in at /app/login, redirect /app/
    assert not is_callback("http://127.0.0.1:12011/app/login?code=c&state=s", APP_URI)  # not the path exactly
    assert not is_callback("http://127.0.0.1:12011/app?code=c&state=s", APP_URI)
    assert not is_callback("https://127.0.0.1:12011/?code=c", ROOT_URI)  # another scheme
    assert not is_callback("http://127.0.0.1:12012/?code=c", ROOT_URI)  # another port
    assert not is_callback("http://localhost:12011/?code=c", ROOT_URI)  # another host


def test_the_redirect_uri_with_a_code_or_an_error_is_the_callback_however_delivered():
    assert is_callback("http://127.0.0.1:12011/?code=c&state=s", ROOT_URI)
    assert is_callback("http://127.0.0.1:12011?code=c", ROOT_URI)  # the root's empty path is "/"
    assert is_callback("http://127.0.0.1:12011/#code=c&state=s", ROOT_URI)  # response_mode=fragment
    assert is_callback("http://127.0.0.1:12011/?error=access_denied&state=s", ROOT_URI)
    assert is_callback("http://127.0.0.1:12011/?code=c", ROOT_URI)  # no state: a fault the suite makes
    assert is_callback("http://127.0.0.1:12011/app/", APP_URI, form=(("code", "c"), ("state", "s")))  # form_post
    assert is_callback("HTTP://127.0.0.1:12011/app/?code=c", APP_URI)
    assert is_callback("http://example.com/cb?code=c", ("http://example.com:80/cb",))  # the default port
    assert at_redirect_uri("http://127.0.0.1:12011/", ROOT_URI) and not at_redirect_uri(
        "http://127.0.0.1:12011/x", ROOT_URI
    )
    # a held callback's code, in the fragment too (the victim browser is sent there with it)
    assert HeldCallback("GET", "http://127.0.0.1:12011/#code=c&state=s").params == {"code": "c", "state": "s"}


def _appc31_at_root(tmp_path, switch: str) -> tuple:
    variables = {
        "WEB_APP_CLIENT_SECRET": special_secret(),
        "WEB_APP_PORT": str(free_port()),
        "WEB_APP_REDIRECT_PATH": "/",
        "REFERENCE_APP_DEFECTS": switch,
    }
    completed = certify_application("examples/web_app/application.yaml", tmp_path, variables, "--rule=APPC-31")
    assert (tmp_path / "record.json").exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    record = json.loads((tmp_path / "record.json").read_text())
    return completed, record, {rule["rule_id"]: rule for rule in record["rules"]}


@pytest.mark.timeout(300)
def test_a_clean_application_whose_redirect_uri_is_its_root_passes_appc31(tmp_path):
    """The reference web app with its redirect URI at its root (http://127.0.0.1:PORT/, its sign-in at /login):
    the attacker browser's sign-in goes through /login and the root's home page, and only its callback is held."""
    completed, record, rules = _appc31_at_root(tmp_path, "")
    output = completed.stdout[-3000:] + completed.stderr[-3000:]
    assert rules["APPC-31"]["status"] == "passed", output
    assert record["failed_rules"] == record["error_rules"] == record["blocked_rules"] == [], output


@pytest.mark.timeout(300)
def test_an_application_whose_redirect_uri_is_its_root_and_that_redeems_another_browsers_code_fails_appc31(tmp_path):
    """verifier-by-state with the redirect URI at the root: another browser's code and state, delivered to the
    victim's root, sign it in; APPC-31 fails, and alone."""
    completed, record, rules = _appc31_at_root(tmp_path, "verifier-by-state")
    assert rules["APPC-31"]["status"] == "failed", completed.stdout[-3000:]
    output = completed.stdout[-3000:] + completed.stderr[-3000:]
    assert record["failed_rules"] == ["APPC-31"], output
    assert completed.returncode == 1, output


@pytest.mark.timeout(300)
@pytest.mark.parametrize("switch", ["", "service-worker,fragment-response"])
def test_a_clean_spa_whose_redirect_uri_is_its_root_passes_the_callback_rules(tmp_path, switch):
    """The reference SPA (oidc-client-ts) with its redirect URI at its root, as npm oidc-spa's always is: APPC-31
    passes, and the refusals read its callback's answer (APPC-19: "the callback page never loaded" where none
    counted). With its service worker answering its page loads and the response in the #fragment, no request's
    address shows the callback: the page's address does, once it is there."""
    variables = {"SPA_APP_PORT": str(free_port()), "SPA_APP_REDIRECT_PATH": "/", "REFERENCE_APP_DEFECTS": switch}
    judged = ("APPC-16", "APPC-19", "APPC-31")
    completed = certify_application(
        "examples/spa_app/application.yaml", tmp_path, variables, *(f"--rule={rule}" for rule in judged)
    )
    output = completed.stdout[-3000:] + completed.stderr[-3000:]
    record = json.loads((tmp_path / "record.json").read_text())
    assert {rule["rule_id"]: rule["status"] for rule in record["rules"] if rule["rule_id"] in judged} == dict.fromkeys(
        judged, "passed"
    ), output
    assert record["warned_rules"] == [], output
