"""The stand-in's test users are told apart by the application as by the stand-in: each has an email
address of its own, so that an application that keeps emails unique (django-allauth's default
ACCOUNT_UNIQUE_EMAIL) signs every one of them in, not only the first."""

from appside import stand_in
from appside.application import load_application
from sandbox import Registry
from sandbox.openid import user_info


def test_every_test_user_has_an_email_address_of_its_own(monkeypatch):
    users = []

    class Watched(Registry):
        def add_user(self, user) -> None:
            users.append(user)
            super().add_user(user)

    monkeypatch.setattr(stand_in, "Registry", Watched)
    application = load_application(
        "examples/web_app/application.yaml", {"WEB_APP_CLIENT_SECRET": "Web-app-secret-4d2f9a", "WEB_APP_PORT": "5999"}
    )
    server, _ = stand_in.start_stand_in(application)
    server.stop()
    emails = [user_info(user, "openid email")["email"] for user in users]
    assert len(users) == stand_in.CONCURRENT_USERS + 1
    assert len(set(emails)) == len(users), emails
    assert emails[:2] == ["test.user@sandbox.invalid", "test.user.1@sandbox.invalid"]
