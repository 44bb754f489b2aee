"""Sign-ins made at once for every scenario (appside.concurrent) each attached the picture of the page it ended on
when it ended, so every one landed in the Allure step of the first scenario that needed them (an outsider's run had
23 pictures under APPC-16's first step and none in the scenarios they were of). Each sign-in now keeps its picture,
and the scenario that reads the sign-in attaches it."""

from types import SimpleNamespace

import pytest

import suite.wire.login.browser as login_browser
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps import sign_ins
from suite.wire.login.browser import PagePicture


@pytest.fixture
def attached(monkeypatch):
    names: list[str] = []
    monkeypatch.setattr(login_browser.allure, "attach", lambda body, name, attachment_type=None: names.append(name))
    monkeypatch.setitem(sign_ins._baseline, "at once", {})
    return names


def test_a_sign_in_made_at_once_is_pictured_in_the_scenario_that_reads_it(attached):
    picture = PagePicture("https://localhost:14140/connect/authorize?state=s", b"png", "")
    ended = SignIn(False, ended_page=picture)
    sign_ins._baseline["at once"] = {
        "the fault callback-state-wrong": ([ended], Observed([])),
        "normal": ([], Observed([])),
    }
    config = SimpleNamespace(application=SimpleNamespace(drive=SimpleNamespace(mode="browser")))
    run = sign_ins.AppRun()
    assert sign_ins.keep_evidence_at_once(config, None, run, "normal")
    assert not [name for name in attached if name.startswith("where the sign-in ended")]  # not another one's
    assert sign_ins.keep_evidence_at_once(config, None, run, "the fault callback-state-wrong")
    assert "where the sign-in ended: page URL" in attached and "where the sign-in ended: screenshot" in attached
