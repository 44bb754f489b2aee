"""A web application or service that fails at start-up because its issuer is wrong: the message names the
stand-in's issuer as the value to configure (Flask-pyoidc exits on a refused discovery, httpx-auth's service fails
its run)."""

from appside.launcher import issuer_hint

STAND_IN = "http://localhost:12920"
REFUSED = (
    "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=12925): Max retries exceeded "
    "with url: /.well-known/openid-configuration (Caused by NewConnectionError(...))"
)


def test_a_discovery_refused_at_another_origin_names_the_stand_ins_issuer():
    hint = issuer_hint(f" * Running on http://127.0.0.1:12921\n{REFUSED}\n", STAND_IN)
    assert "it reached for http://localhost:12925, not the stand-in" in hint, hint
    assert f"configure the issuer as {STAND_IN}" in hint and "VISMA_CONNECT_ISSUER" in hint
    assert "12921" not in hint  # the application's own address, on a line about no issuer
    mismatch = "oic.exception.IssuerMismatch: 'http://127.0.0.1:12920' != 'http://localhost:12920'"
    assert "http://127.0.0.1:12920" in issuer_hint(mismatch, STAND_IN)
    # an https issuer configured as http: another origin too
    assert "http://localhost:12920" in issuer_hint(
        "issuer http://localhost:12920 unreachable", "https://localhost:12920"
    )


def test_no_hint_where_the_output_reached_the_stand_in_or_said_nothing_of_an_issuer():
    assert issuer_hint(REFUSED.replace("12925", "12920"), STAND_IN) == ""
    assert issuer_hint("KeyError: 'ACME_WEB_SECRET' (see http://localhost:9999/docs)", STAND_IN) == ""
    assert issuer_hint("", STAND_IN) == ""


def test_the_hint_never_prints_a_urls_user_information():
    """A URL with user:password@ in the application's output names only its origin in the hint: the password an
    application put in its issuer URL is no part of what the suite prints."""
    from appside.launcher import issuer_hint

    hint = issuer_hint("Error: issuer http://client:pw-7Q!x@localhost:9999/x mismatch", "http://localhost:12920")
    assert "http://localhost:9999" in hint and "pw-7Q" not in hint and "client" not in hint, hint
