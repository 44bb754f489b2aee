"""A secret a shell printed with its own backslash escapes read as escapes is masked, and APPC-28 finds it: a
passport-openidconnect app's start script (dash's `echo "... secret $SECRET"`) printed a secret's "\\\\" as "\\",
APPC-28 passed and the line stood unmasked in application.log, the Allure attachment and the HTML report; a launch
script's echo printed another's "\\b" as a backspace on the terminal. Real shells: dash (/bin/sh) and bash."""

import os
import shutil
import subprocess

import pytest

from appside.steps.leaks import leaked
from suite.secrets.redaction import ELIDED_PIECE, Redactor
from suite.secrets.shell_printed import shell_printed

SECRETS = {
    "\\b and \\t": "Sx9-._~+/=%:;&?# \"q'\\b%41 \u00fcn\u00ef\u20ac \U0001f600 \\tzZ",
    "\\\\ and octal": "Pw7 %2B+&=:;?#/ \\\\ \\0101 \\x41 \\e \u00e9\u00f8 %41end",
}
PRINTERS = {
    "dash echo": ["sh", "-c", 'echo "secret $SECRET"'],
    "bash echo -e": ["bash", "-c", 'echo -e "secret $SECRET"'],
    "printf %b": ["bash", "-c", 'printf "secret %b\\n" "$SECRET"'],
    "printf format": ["bash", "-c", 'printf "secret ${SECRET//%/%%}\\n"'],  # its % written as the format's %%
}


def _printed(command: list[str], secret: str) -> str:
    if not shutil.which(command[0]):
        pytest.skip(f"no {command[0]} here")
    env = {**os.environ, "SECRET": secret}
    return subprocess.run(command, env=env, capture_output=True, check=True).stdout.decode(errors="replace")


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
@pytest.mark.parametrize("command", PRINTERS.values(), ids=PRINTERS.keys())
def test_a_secret_a_shell_printed_is_masked_and_found(command, secret):
    printed = _printed(command, secret)
    assert secret not in printed  # the shell read its escapes
    redactor = Redactor()
    redactor.register(secret, "client_secret")
    assert redactor.scrub(printed) == "secret [client_secret]\n"
    assert leaked(printed, {secret: "client secret"}) == ["client secret"]


def test_a_secret_cut_by_backslash_c_is_masked_by_its_head_when_long_enough():
    long_head, short_head = "Lh4-long-head-of-it", "Sh4-x"
    assert len(long_head) >= ELIDED_PIECE > len(short_head)
    for head in (long_head, short_head):
        secret = head + "\\c-and-the-rest"
        printed = _printed(PRINTERS["dash echo"], secret)
        redactor = Redactor()
        redactor.register(secret, "client_secret")
        expected = "secret [client_secret]" if head == long_head else f"secret {head}"
        assert redactor.scrub(printed) == expected
    assert shell_printed(short_head + "\\c-rest", head=ELIDED_PIECE) == set()


def test_a_secret_without_backslash_has_no_printed_form():
    assert shell_printed("plain-secret-7q", head=ELIDED_PIECE) == set()
