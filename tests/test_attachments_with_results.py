"""Attachments are built only where the run writes Allure results (suite.wire.http.allure_results_written):
a picture of the page costs the browser a tenth of a second of CPU, and the redacted request log most of the
suite's own, which a run without results (the detection matrices) would throw away. What they do besides
attaching, the tokens and codes of the log becoming secrets, happens either way."""

import secrets

import allure
import allure_commons
from allure_commons.logger import AllureFileLogger

from appside.observed import Observed
from sandbox.recording import RecordedRequest
from suite.secrets.redaction import REDACTOR
from suite.wire.login import browser as login_browser
from suite.wire.login.browser import BrowserLogin


class Page:
    url = "http://127.0.0.1:1/callback"


def _attached(monkeypatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(allure, "attach", lambda body, name=None, **_: names.append(name))
    return names


def _writing_results(tmp_path):
    logger = AllureFileLogger(str(tmp_path))
    allure_commons.plugin_manager.register(logger)
    return logger


def test_no_picture_of_the_page_without_results(monkeypatch, tmp_path):
    pictured: list = []

    def picture(page) -> tuple[bytes, str]:
        pictured.append(page)
        return b"", "n"

    monkeypatch.setattr(login_browser, "picture_without_secrets", picture)
    attached = _attached(monkeypatch)
    BrowserLogin._attach_page(Page(), "where the sign-in ended")
    assert pictured == [] and attached == []
    logger = _writing_results(tmp_path)
    try:
        BrowserLogin._attach_page(Page(), "where the sign-in ended")
    finally:
        allure_commons.plugin_manager.unregister(logger)
    assert len(pictured) == 1 and "where the sign-in ended: page URL" in attached


def test_the_request_log_is_attached_only_with_results_but_its_tokens_are_masked_either_way(monkeypatch, tmp_path):
    code, token = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    log = [
        RecordedRequest(
            0.0, "POST", "/connect/token", (), (("code", code),), {}, status=200, response_json={"access_token": token}
        )
    ]
    attached = _attached(monkeypatch)
    Observed(log).attach("normal sign-in")
    assert attached == []
    assert code not in REDACTOR.scrub(f"code {code}") and token not in REDACTOR.scrub(f"token {token}")
    logger = _writing_results(tmp_path)
    try:
        Observed(log).attach("normal sign-in")
    finally:
        allure_commons.plugin_manager.unregister(logger)
    assert attached == ["normal sign-in: 1 requests the stand-in received"]
