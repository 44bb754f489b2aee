"""The `manual` login method, for accounts with multi-factor sign-in: a person opens the
authorization URL in their own browser and pastes back the address it ends on."""

import os
import tempfile
from pathlib import Path

from suite.wire.http import HttpClient
from suite.wire.login import Outcome, is_redirect_to
from suite.wire.login.html_forms import post_form_page


def terminal_available() -> bool:
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:  # no controlling terminal: CI, cron, a pipe
        return False


class ManualLogin:
    def __init__(self, environment, http: HttpClient) -> None:
        pass

    def authorize(self, authorization_url: str, redirect_uri: str, form: dict | None = None) -> Outcome:
        """form: the request's parameters, to be POSTed to authorization_url (the endpoint) instead of
        sent in its query (OpenID Connect Core section 3.1.2.1): a person's browser sends a POST only
        from a page, so the suite writes one, with the request as a form, for the person to open."""
        page = _form_page_file(authorization_url, form) if form is not None else None
        try:
            what = (
                f"Open this address in your browser and sign in:\n\n  {authorization_url}"
                if page is None
                else "This authorization request is sent by POST, as a form. Open this page in your browser, "
                f"press its button, and sign in:\n\n  {page.as_uri()}"
            )
            pasted = _ask(what, redirect_uri)
        finally:
            if page is not None:
                page.unlink(missing_ok=True)  # the browser has sent it by now, or never will
        # The person was asked to sign in; the callback they paste is taken as their word for it.
        if is_redirect_to(pasted, redirect_uri):
            return Outcome("callback", pasted, signed_in=True)
        # Not a refusal by the server: a person who pasted nothing, or another address, shows nothing.
        return Outcome("page", pasted, signed_in=True) if pasted else Outcome("no_answer")


def _ask(what: str, redirect_uri: str) -> str:
    # /dev/tty, not stdin: pytest captures stdin and stdout, a person still needs both.
    # Two handles: a terminal cannot seek, which a read-write text file would need.
    with open("/dev/tty", "w") as screen, open("/dev/tty") as keyboard:
        screen.write(
            f"\n--- manual sign-in ---\n{what}\n\nThe browser then goes to {redirect_uri}?... (the page may not "
            "load). Paste that whole address here and press Enter:\n> "
        )
        screen.flush()
        return keyboard.readline().strip()


def _form_page_file(endpoint: str, form: dict) -> Path:
    """The page in a file of its own, readable by this user only (it names the client and its state)."""
    handle, name = tempfile.mkstemp(prefix="authorization-request-", suffix=".html")
    with os.fdopen(handle, "w", encoding="utf-8") as page:
        page.write(post_form_page(endpoint, form))
    return Path(name)
