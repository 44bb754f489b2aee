"""The sandbox's fault token-request-refused (sandbox/faults.py): the faulted user's next code redemption, one that
would have succeeded, is answered as a token endpoint refuses a grant (RFC 6749 section 5.2: HTTP 400,
invalid_grant) with no token in it, and the code is spent with it, so that the application side's APPC-36 sees
what an application does with a sign-in that got no token at all."""

import pytest
from sandbox_sign_in import redeem_spa_code, spa_code

from sandbox import SandboxServer, default_registry


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


def test_the_faulted_users_redemption_is_refused_with_invalid_grant_and_its_code_spent(sandbox):
    sandbox.faults.inject("token-request-refused", user="test.user")
    code = spa_code(sandbox.url, "a" * 43)
    refused = redeem_spa_code(sandbox.url, code, "a" * 43)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert "access_token" not in refused.json() and "id_token" not in refused.json()
    again = redeem_spa_code(sandbox.url, code, "a" * 43)  # the same code again: it is gone
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    assert not sandbox.faults.armed("token-request-refused", "test.user")


def test_another_users_fault_leaves_the_redemption_alone(sandbox):
    sandbox.faults.inject("token-request-refused", user="someone.else")
    code = spa_code(sandbox.url, "a" * 43)
    assert redeem_spa_code(sandbox.url, code, "a" * 43).status_code == 200
    sandbox.faults.clear()
