"""What one scenario carries from step to step: its client, authorization and token responses."""

from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from suite.configuration.environment import Client
from suite.wire.http import HttpClient
from suite.wire.login import Outcome


@dataclass
class AuthorizationRequest:
    client: Client
    params: dict
    verifier: str | None = field(default=None, repr=False)
    endpoint: str = ""  # the authorization endpoint it went to (a reproduction prints it again)
    method: str = "GET"  # or POST, its parameters form-encoded in the body (OpenID Connect Core 3.1.2.1)

    @property
    def state(self) -> str | None:
        return self.params.get("state")


@dataclass
class ScenarioState:
    http: HttpClient
    client: Client | None = None
    other_client: Client | None = None
    authorization: AuthorizationRequest | None = None
    outcome: Outcome | None = None
    # time.monotonic() after which the code may have expired (suite.wire.authorization); None: no limit
    code_deadline: float | None = None
    # the same authorization request sent again (same verifier): a fresh code for a redemption that
    # came too late on a busy machine (steps.authorization.redeem), once per scenario
    authorize_again: Callable[[], None] | None = field(default=None, repr=False)
    authorized_again: bool = False
    # the token requests that redeemed the scenario's code so far, in order (steps.authorization.redeem): a
    # fresh code is redeemed as they did before the one that came too late, so a second redemption stays second
    redemptions: list = field(default_factory=list, repr=False)
    response: requests.Response | None = None  # the latest answer of the token endpoint
    sender: Client | None = None  # the client that sent the latest token request (the other client's too)
    revocation: requests.Response | None = None  # the latest answer of the revocation endpoint
    userinfo: requests.Response | None = None  # the latest answer of the userinfo endpoint
    widening_scope: str | None = None  # RT-08: the scope, not originally granted, a refresh asked for
    ui_locale: str | None = None  # AUTH-09: the language asked for
    login_page: str | None = field(default=None, repr=False)  # AUTH-09: the login page's HTML
    # AUTH-05: (client, the redirect_uri sent, where the authorization ended) for each registered URI varied
    redirect_trials: list = field(default_factory=list, repr=False)
    # successful token responses, oldest first; never shown, even by --showlocals
    token_responses: list = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        # Shown in tracebacks: what happened, never a token, code or URL carrying one.
        role = self.client.role if self.client else None
        return (
            f"ScenarioState(client={role!r}, exchanges={len(self.http.exchanges)}, "
            f"token_responses={len(self.token_responses)})"
        )

    @property
    def tokens(self) -> dict:
        return self.token_responses[-1] if self.token_responses else {}
