"""The `manual` login method, for accounts with multi-factor sign-in: a person opens the
authorization URL in their own browser and pastes back the address it ends on."""

from suite.wire.http import HttpClient
from suite.wire.login import Outcome, is_redirect_to


def terminal_available() -> bool:
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:  # no controlling terminal: CI, cron, a pipe
        return False


class ManualLogin:
    def __init__(self, environment, http: HttpClient) -> None:
        pass

    def authorize(self, authorization_url: str, redirect_uri: str) -> Outcome:
        # /dev/tty, not stdin: pytest captures stdin and stdout, a person still needs both.
        # Two handles: a terminal cannot seek, which a read-write text file would need.
        with open("/dev/tty", "w") as screen, open("/dev/tty") as keyboard:
            screen.write(
                "\n--- manual sign-in ---\nOpen this address in your browser and sign in:\n\n"
                f"  {authorization_url}\n\nThe browser then goes to {redirect_uri}?... (the page may not "
                "load). Paste that whole address here and press Enter:\n> "
            )
            screen.flush()
            pasted = keyboard.readline().strip()
        # The person was asked to sign in; the callback they paste is taken as their word for it.
        if is_redirect_to(pasted, redirect_uri):
            return Outcome("callback", pasted, signed_in=True)
        # Not a refusal by the server: a person who pasted nothing, or another address, shows nothing.
        return Outcome("page", pasted, signed_in=True) if pasted else Outcome("no_answer")
