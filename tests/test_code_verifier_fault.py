"""The sandbox's fault code-verifier-compared (sandbox/faults.py): under the defect pkce-not-compared,
which the application side's stand-in keeps on so that APPC-08 judges a wrong verifier, the code issued
next for the faulted user is still redeemed only with its own verifier (RFC 7636 section 4.6), as
APPC-31 needs: another browser's code, redeemed with this browser's verifier, is refused as Visma
Connect refuses it."""

import pytest
from sandbox_sign_in import redeem_spa_code, spa_code

from sandbox import SandboxServer, default_registry


@pytest.fixture(scope="module")
def lenient():
    server = SandboxServer(default_registry(), defects=("pkce-not-compared",)).start()
    yield server
    server.stop()


def test_without_the_fault_the_defect_lets_a_code_go_with_any_verifier(lenient):
    code = spa_code(lenient.url, "a" * 43)
    assert redeem_spa_code(lenient.url, code, "b" * 43).status_code == 200


def test_the_faulted_users_next_code_is_redeemed_only_with_its_own_verifier(lenient):
    lenient.faults.inject("code-verifier-compared", user="test.user")
    code = spa_code(lenient.url, "a" * 43)
    refused = redeem_spa_code(lenient.url, code, "b" * 43)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    # the log ties the refused redemption to the code's user: an SPA's token request carries nothing else
    # that tells whose sign-in it was, and sign-ins going on at once would each count it (APPC-23's twice)
    logged = [e for e in lenient.recording.entries() if e.path == "/connect/token" and e.param("code") == code]
    assert [e.notes.get("user") for e in logged] == ["test.user"], logged
    assert redeem_spa_code(lenient.url, code, "a" * 43).status_code == 200  # its own verifier, still


def test_the_fault_is_for_the_next_code_of_its_user_alone(lenient):
    lenient.faults.inject("code-verifier-compared", user="someone.else")
    code = spa_code(lenient.url, "a" * 43)
    assert redeem_spa_code(lenient.url, code, "b" * 43).status_code == 200
    lenient.faults.clear()
    lenient.faults.inject("code-verifier-compared", user="test.user")
    spa_code(lenient.url, "c" * 43)  # takes the fault
    assert redeem_spa_code(lenient.url, spa_code(lenient.url, "a" * 43), "b" * 43).status_code == 200
