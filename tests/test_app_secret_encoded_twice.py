"""A client_secret in the form body that is the application's secret encoded to UTF-8 once more (each
byte of its UTF-8 taken as a character, as Mojolicious sends a secret read from Perl's %ENV unchanged)
fails APPC-10 with what happened and what to do, not only "not the application's secret"."""

from urllib.parse import urlencode

from appside.observed import client_authentication
from sandbox.recording import RecordedRequest

CLIENT_ID = "acme-perl-web"


def _form_post(secret: str) -> RecordedRequest:
    form = (("grant_type", "authorization_code"), ("client_id", CLIENT_ID), ("client_secret", secret))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return RecordedRequest(0.0, "POST", "/connect/token", (), form, headers, body=urlencode(form))


def test_a_secret_encoded_to_utf8_twice_is_said_to_be():
    secret = "s3cret-Ünïcode-ñ-€"
    twice = secret.encode("utf-8").decode("latin-1")
    problem = client_authentication(_form_post(twice), CLIENT_ID, secret).problem
    assert problem.startswith(
        "the client_secret in its form body is not the application's secret: it is the secret UTF-8-encoded twice"
    ), problem
    assert "decode the secret from UTF-8" in problem


def test_another_secret_is_only_not_the_applications():
    problem = client_authentication(_form_post("s3cret-Other-123"), CLIENT_ID, "s3cret-Plain-123").problem
    assert problem.startswith("the client_secret in its form body is not the application's secret: it differs")
    assert client_authentication(_form_post("s3cret-Ünï"), CLIENT_ID, "s3cret-Ünï").problem == ""
