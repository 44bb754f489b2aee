"""A client_secret in the form body that is not the application's: APPC-10 says where it differs, by
positions and character classes, never a character of either value (@hapi/bell's useParamsAuth writes
each non-ASCII character as the text "undefined"; the message said only "not the application's
secret")."""

from urllib.parse import urlencode

import pytest

from appside.observed import client_authentication
from sandbox.recording import RecordedRequest

CLIENT_ID = "acme-hapi"
SECRET = "Ab1 x+y%41:z\"q'w\\é€-"  # the outside partner's: é is the 18th character, € the 19th


def _problem(sent: str) -> str:
    form = (("grant_type", "authorization_code"), ("client_id", CLIENT_ID), ("client_secret", sent))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    request = RecordedRequest(0.0, "POST", "/connect/token", (), form, headers, body=urlencode(form))
    return client_authentication(request, CLIENT_ID, SECRET).problem


@pytest.mark.parametrize(
    ("sent", "how"),
    [
        (SECRET.replace("é", "undefined").replace("€", "undefined"), "each written as the text 'undefined'"),
        (SECRET.replace("é", "").replace("€", ""), "missing"),
        (SECRET.replace("é", "\ufffd").replace("€", "undefined"), "missing or replaced"),  # bell: é as %E9
    ],
)
def test_non_ascii_characters_dropped_or_replaced_are_named_by_place(sent, how):
    problem = _problem(sent)
    assert problem.startswith(
        "the client_secret in its form body is not the application's secret: it differs from the secret's 18th "
        "character on (a non-ASCII character; the secret has 20 characters"
    ), problem
    assert f"its 2 non-ASCII characters (the 18th, 19th) are {how}, every other character is in place" in problem
    assert "@hapi/bell's useParamsAuth" in problem


def test_no_character_of_the_secret_or_of_the_value_sent_is_written():
    for sent in (SECRET.replace("€", "undefined"), "zz" + SECRET, SECRET[:5], "Ab1 x+y%41:QQ"):
        problem = _problem(sent).removeprefix("the client_secret in its form body is not the application's secret")
        words = problem.replace("'undefined'", "")
        assert not {c for c in SECRET if not c.isascii()} & set(words), problem
        for piece in ("Ab1", "x+y", "%41", '"q', "w\\"):
            assert piece not in words, problem


def test_a_secret_cut_short_encoded_twice_or_trimmed_says_so():
    assert "the secret cut short, its first 5 characters of 20 (cut before its 6th, a punctuation" in _problem(
        SECRET[:5]
    )
    assert "form-urlencoded twice" in _problem("Ab1+x%2By%2541%3Az%22q%27w%5C%C3%A9%E2%82%AC-")
    assert "differs from the secret's 12th character on (a letter" in _problem("Ab1 x+y%41:QQ")
