"""Manual mode, for native apps whose browser the suite cannot drive: a person starts the sign-in
in the application, signs in at the stand-in as the test user the suite prints, and tells the
suite how it ended."""

from appside.browser_driver import SignIn
from appside.effort import EFFORT
from suite.wire.login.manual import terminal_available

__all__ = ["ManualDriver", "terminal_available"]


class ManualDriver:
    def __init__(self, application, issuer: str, user, tls=None) -> None:  # the person's browser trusts the CA or not
        self.application, self.issuer, self.user = application, issuer, user

    def session(self) -> "ManualDriver":
        return self

    def sign_in(self, refused: bool = False) -> SignIn:
        EFFORT.sign_ins += 1  # the person's sign-ins are the run's work as the browser's are (appside.effort)
        EFFORT.by_person += 1
        what = self.application.drive.sign_in_url or "the application's sign-in"
        return self._ask(
            f"Start a new sign-in in the application ({what}) and sign in at {self.issuer} as "
            f"{self.user.username}, password {self.user.password}."
        )

    def open(self, url: str, refused: bool = False) -> SignIn:
        return self._ask(f"Make the application use the Visma API ({url}); sign in again if it asks.")

    def _ask(self, instruction: str) -> SignIn:
        with open("/dev/tty", "w") as screen, open("/dev/tty") as keyboard:
            screen.write(
                f"\n--- manual step ---\n{instruction}\nDid the application show that you are signed in "
                "(y), or an error (n)? "
            )
            screen.flush()
            answer = keyboard.readline().strip().lower()
        return SignIn(finished=answer.startswith("y"))

    def close(self) -> None:
        pass
