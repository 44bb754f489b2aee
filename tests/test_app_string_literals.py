"""APPC-28 reads a secret a program printed inside a string literal, each language's escapes decoded (Perl's
Data::Dumper with Useqq printed a Net::OAuth2 service's secret as "...\\x{e9}\\x{20ac}..." and the service was
certified with it in its output), and the appside registers those forms with the scrubber so that the evidence
and every report mask them. Real printers where they are installed: Perl's Data::Dumper, Python's repr and json."""

import json
import os
import shutil
import subprocess

import pytest

from appside.steps.leaks import leaked
from suite.secrets.literals import escaped_forms, unescaped
from suite.secrets.redaction import Redactor

SECRET = "Pb1 +%41:x\"y'z\\\u00e9\u20ac-perl-7q2w"  # every character class: space, quotes, backslash, é, €
SECRETS = {SECRET: "client secret"}

# the secret's line as each language printed it (the forms the brief names, inside a string literal)
PRINTED = {
    "Perl Data::Dumper, Useqq": "'client_secret' => \"Pb1 +%41:x\\\"y'z\\\\\\x{e9}\\x{20ac}-perl-7q2w\",",
    "Perl \\N{U+..}": 'secret="Pb1 +%41:x\\"y\'z\\\\\\N{U+E9}\\N{U+20AC}-perl-7q2w"',
    "Python repr, \\x and \\u": "{'client_secret': 'Pb1 +%41:x\"y\\'z\\\\\\xe9\\u20ac-perl-7q2w'}",
    "Python \\U": 'secret = "Pb1 +%41:x\\"y\'z\\\\\\U000000e9\\U000020ac-perl-7q2w"',
    "JSON \\u, single-quoted": "{'secret': 'Pb1 +%41:x\"y\\'z\\\\\\u00e9\\u20ac-perl-7q2w'}",
    "JavaScript \\u{..}": 'secret: "Pb1 +%41:x\\"y\'z\\\\\\u{e9}\\u{20ac}-perl-7q2w"',
    "C, UTF-8 bytes": 'char *s = "Pb1 +%41:x\\"y\'z\\\\\\xc3\\xa9\\xe2\\x82\\xac-perl-7q2w";',
    "C, octal bytes": 'secret => "Pb1 +%41:x\\"y\'z\\\\\\303\\251\\342\\202\\254-perl-7q2w"',
    "HTML, decimal": '<input value="Pb1 +%41:x&quot;y&#x27;z\\&#233;&#8364;-perl-7q2w">',
    "HTML, hex": "<td>Pb1 +%41:x\"y'z\\&#xe9;&#x20ac;-perl-7q2w</td>",
}


@pytest.mark.parametrize("printed", PRINTED.values(), ids=PRINTED.keys())
def test_appc28_reads_the_secret_in_each_escape_form(printed):
    assert SECRET not in printed
    assert any(SECRET in reading for reading in unescaped(printed))
    assert leaked(printed, SECRETS) == ["client secret"]


def test_a_near_miss_is_no_leak():
    other = PRINTED["Perl Data::Dumper, Useqq"].replace("\\x{e9}", "\\x{e8}")
    assert leaked(other, SECRETS) == [] and leaked("no escapes at all \\n &amp;", SECRETS) == []


@pytest.mark.skipif(shutil.which("perl") is None, reason="Perl is not installed")
@pytest.mark.parametrize("decoded", [True, False], ids=["characters", "bytes"])
def test_what_perl_data_dumper_prints_is_read_and_masked(decoded):
    """Data::Dumper with Useqq, as the partner's service printed its configuration: \\x{e9} for a decoded
    string, octal bytes for an undecoded one."""
    script = (
        "use Data::Dumper; use Encode; $Data::Dumper::Useqq = 1; my $s = $ENV{S}; "
        + ('$s = decode("UTF-8", $s); ' if decoded else "")
        + "print Dumper({ client_secret => $s });"
    )
    printed = subprocess.run(
        ["perl", "-e", script], env={**os.environ, "S": SECRET}, capture_output=True, check=True
    ).stdout.decode("ascii")
    assert SECRET not in printed and ("\\x{20ac}" if decoded else "\\342\\202\\254") in printed
    assert leaked(printed, SECRETS) == ["client secret"]
    assert "perl-7q2w" not in _scrubbed_as_the_appside_registers(printed)


@pytest.mark.parametrize(
    "printed", [repr(SECRET), ascii(SECRET), json.dumps(SECRET), repr(SECRET.encode()), ascii({"s": SECRET})]
)
def test_what_python_prints_is_read_and_masked(printed):
    assert leaked(printed, SECRETS) == ["client secret"]
    assert "perl-7q2w" not in _scrubbed_as_the_appside_registers(printed)


@pytest.mark.parametrize("printed", PRINTED.values(), ids=PRINTED.keys())
def test_the_appside_registers_every_form_with_the_scrubber(printed):
    assert "perl-7q2w" not in _scrubbed_as_the_appside_registers(printed)


@pytest.mark.parametrize(
    "value", [SECRET, "t\u00e9st-secret", "tab\tand\nnewline", "astral-\U0001f600-x\\y", "$dollar@at\"q'"]
)
def test_each_escaped_form_reads_back_as_the_value(value):
    forms = escaped_forms(value)
    assert forms and value not in forms
    assert all(any(value in reading for reading in unescaped(form)) for form in forms)


def test_a_printable_ascii_value_has_no_forms_of_its_own():
    assert escaped_forms("plain-ascii-secret_123") == set()


def _scrubbed_as_the_appside_registers(text: str) -> str:
    """What appside/conftest.py registers for the client secret: it as it is and its escaped forms."""
    redactor = Redactor()
    redactor.register(SECRET, "application.client_secret")
    for form in escaped_forms(SECRET):
        redactor.register(form, "application.client_secret")
    return redactor.scrub(text)


@pytest.mark.skipif(shutil.which("perl") is None, reason="Perl is not installed")
def test_an_ascii_secret_with_dollar_and_at_is_masked_as_perl_quotes_it():
    value = "Pa1 $x@y\"q'z\\w-ascii"
    script = "use Data::Dumper; $Data::Dumper::Useqq = 1; print Dumper({ s => $ENV{S} });"
    printed = subprocess.run(["perl", "-e", script], env={**os.environ, "S": value}, capture_output=True, check=True)
    text = printed.stdout.decode()
    assert "\\$x\\@y" in text and leaked(text, {value: "client secret"}) == ["client secret"]
    redactor = Redactor()
    for form in {value, *escaped_forms(value)}:
        redactor.register(form, "application.client_secret")
    assert "-ascii" not in redactor.scrub(text)
