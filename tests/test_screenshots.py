"""Screenshots show no secret: every element whose text, value, title or attribute holds a secret
the suite knows is masked before the picture is taken, not only password fields. Each secret
(password, client secret, access token) is planted in each place; the masked picture of a page
showing it is the same, pixel for pixel, as that of the page showing another secret of the same
length, while unmasked pictures of the two differ (the control: the secret is visible)."""

import os

import pytest

from suite.secrets.redaction import REDACTOR
from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
SECRETS = {  # each with a twin of the same length, both known to the suite
    "password": ("Pw-5e1b 77d2&x", "Qz-9c3a 11f0&y"),
    "client secret": ("Svc/Secret+7f3a9c1e==", "Web/Secret+2b8d4f60=="),
    "access token": ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI5In0.c2ln", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI4In0.YWJj"),
}
PLACES = {  # where the page puts the secret, and whether an unmasked picture shows it
    "text": ("<p>your secret: {}</p>", True),
    "value": ('<input size="50" value="{}">', True),
    "title": ('<p title="{}">hover me</p>', False),
    "attribute": ('<div class="shown" data-secret="{}"></div>', True),  # shown by the stylesheet
}
PAGE = """<!doctype html><style>* {{ font: 24px monospace; }} .shown::after {{ content: attr(data-secret); }}</style>
<h1>Signed in</h1>{}<p>the rest of the page</p>"""


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    from suite.wire.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser.new_page(viewport={"width": 800, "height": 300})
        browser.close()


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("kind", SECRETS)
def test_a_screenshot_shows_no_secret_wherever_the_page_puts_it(page, kind, place):
    from suite.wire.login.screenshots import screenshot_without_secrets

    secret, twin = SECRETS[kind]
    for value in (secret, twin):
        REDACTOR.register(value, kind)
    template, visible = PLACES[place]
    masked, plain = [], []
    for value in (secret, twin):
        page.set_content(PAGE.format(template.format(value)))
        plain.append(page.screenshot(full_page=True))
        masked.append(screenshot_without_secrets(page))
    assert masked[0] is not None
    assert (plain[0] != plain[1]) == visible, "control: an unmasked picture shows the secret"
    assert masked[0] == masked[1], f"the {kind} in the page's {place} shows in its screenshot"
    assert masked[0] != plain[0], f"the element holding the {kind} in its {place} was not masked"


def test_a_page_without_secrets_is_pictured_as_it_is(page):
    from suite.wire.login.screenshots import screenshot_without_secrets

    page.set_content(PAGE.format("<p>nothing to hide</p>"))
    assert screenshot_without_secrets(page) == page.screenshot(full_page=True)


def test_a_page_that_unmasks_its_secret_gets_no_picture(page):
    """A page whose script takes the mark off (or moves the secret) while the picture is taken:
    no picture rather than one showing the secret."""
    from suite.wire.login.screenshots import screenshot_without_secrets

    secret = SECRETS["client secret"][0]
    REDACTOR.register(secret, "client secret")
    unmark = """<script>new MutationObserver(changes => changes.forEach(c => c.target.removeAttribute(c.attributeName)))
      .observe(document.body, {attributes: true, subtree: true, attributeFilter: ["data-suite-secret"]});</script>"""
    page.set_content(PAGE.format(f"<p>{secret}</p>{unmark}"))
    assert screenshot_without_secrets(page) is None
