"""Screenshots show no secret: every element whose text, value, title or attribute holds a secret
the suite knows is masked before the picture is taken, not only password fields. Each secret
(password, client secret, access token) is planted in each place; the masked picture of a page
showing it is the same, pixel for pixel, as that of the page showing another secret of the same
length, while unmasked pictures of the two differ (the control: the secret is visible)."""

import base64
import os
from html import escape

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
PAGE = """<!doctype html><style>* {{ font: 24px sans-serif; }} .shown::after {{ content: attr(data-secret); }}</style>
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
    """Nothing masked: the picture is the page's own, under the suite's text-only stylesheet."""
    from suite.wire.login.screenshots import PICTURE_ONLY_TEXT, screenshot_without_secrets

    page.set_content(PAGE.format("<p>nothing to hide</p>"))
    assert screenshot_without_secrets(page) == page.screenshot(full_page=True, style=PICTURE_ONLY_TEXT)


def test_a_page_that_would_unmask_its_secret_is_stopped_while_pictured(page):
    """A page whose script takes the mark off (or moves the secret) while the picture is taken: its
    scripts are stopped meanwhile, so its picture is that of the same page holding another secret,
    masked; and they run again afterwards."""
    from suite.wire.login.screenshots import screenshot_without_secrets

    secret, twin = SECRETS["client secret"]
    for value in (secret, twin):
        REDACTOR.register(value, "client secret")
    unmark = """<script>new MutationObserver(changes => changes.forEach(c => c.target.removeAttribute(c.attributeName)))
      .observe(document.body, {attributes: true, subtree: true, attributeFilter: ["data-suite-secret"]});</script>"""
    pictures = []
    for value in (secret, twin):
        page.set_content(PAGE.format(f"<p>{value}</p>{unmark}"))
        pictures.append(screenshot_without_secrets(page))
    assert pictures[0] is not None and pictures[0] == pictures[1]
    assert page.evaluate("1 + 1") == 2, "the page's scripts were not let run again"


PASSWORD = "QZ7PW d+%41:\"'é€😀<b>&x=1;end"  # the security tester's, every character class
SPREAD = {  # a page showing a password with no element holding it whole
    "split-spans": lambda p: f"<p>Your password was: <span>{escape(p[:9])}</span><span>{escape(p[9:])}</span></p>",
    "bold-half": lambda p: f"<p>Wrong password {escape(p[:9])}<b>{escape(p[9:])}</b></p>",
    "reordered": lambda p: (
        f"<p style='display: flex'><span style='order: 2'>{escape(p[9:])}</span>"
        f"<span style='order: 1'>{escape(p[:9])}</span></p>"
    ),
}


@pytest.mark.parametrize("spread", SPREAD)
def test_a_page_showing_a_secret_spread_over_elements_gets_no_picture(page, spread):
    """Control: the unmasked picture of the page differs from that of the same page showing another
    password of the same length (the password is visible). The suite gives no picture, and says why."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register(PASSWORD, "login.password")
    twin = "".join(chr(ord(c) + 1) if c.isalpha() else c for c in PASSWORD)
    page.set_content(PAGE.format(SPREAD[spread](twin)))
    other = page.screenshot(full_page=True)
    page.set_content(PAGE.format(SPREAD[spread](PASSWORD)))
    assert page.screenshot(full_page=True) != other, "control: the password is visible"
    png, why_not = picture_without_secrets(page)
    assert png is None, f"the password {spread} shows in the screenshot"
    assert "login.password" in why_not and "spread over several elements" in why_not


DISGUISED_IN_ONE = {  # a page showing a password in one element, disguised as the scrubber reads it still
    "spaced-out": lambda p: f"<div>{escape(' '.join(p))}</div>",
    "upper-case": lambda p: f"<div>{escape(p.upper())}</div>",
}


@pytest.mark.parametrize("disguise", DISGUISED_IN_ONE)
def test_a_page_showing_a_secret_disguised_in_one_element_is_pictured_with_it_masked(page, disguise):
    """The scrubber reads a secret spaced out or upper-cased (a hostile server's disguises): the element
    showing it holds it, and is masked; the picture is that of the same page showing another password, masked
    too (the shifted letters' widths inside a black box show nothing)."""
    from suite.wire.login.screenshots import picture_without_secrets

    twin = "".join(chr(ord(c) + 1) if c.isalpha() else c for c in PASSWORD)
    pictures = []
    for value in (PASSWORD, twin):
        REDACTOR.register(value, "login.password")
        page.set_content(PAGE.format(DISGUISED_IN_ONE[disguise](value)))
        png, why_not = picture_without_secrets(page)
        assert png is not None, why_not
        pictures.append(png)
    assert pictures[0] == pictures[1], f"the password {disguise} shows in the screenshot"


def test_a_login_page_is_pictured_with_its_password_field_masked(page):
    """No false alarm: a login page whose labels say "Password", its field filled with the sandbox's
    password (`sandbox-password`), is pictured, the field masked."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register("sandbox-password", "login.password")
    page.set_content(
        PAGE.format(
            "<h2>Sandbox sign-in</h2><label>Password <input type=password id=p></label>"
            "<p>Forgot your password? Sandbox password rules apply.</p>"
        )
    )
    page.fill("#p", "sandbox-password")
    png, why_not = picture_without_secrets(page)
    assert png is not None, why_not


PIXELS = {  # a page drawing the password as pixels, which no text search finds
    "canvas": lambda p: (
        "<canvas id=cv width=700 height=60></canvas><script>const c = document.getElementById('cv')"
        f".getContext('2d'); c.font = '30px sans-serif'; c.fillText({p!r}, 5, 40);</script>"
    ),
    "svg-image": lambda p: (
        "<img alt='' src='data:image/svg+xml;base64,"
        + base64.b64encode(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="60"><text x="5" y="40" '
            f'font-size="30">{escape(p)}</text></svg>'.encode()
        ).decode()
        + "'>"
    ),
    "inline-svg": lambda p: f"<svg width=700 height=60><text x=5 y=40 font-size=30>{escape(p)}</text></svg>",
    "background": lambda p: (
        "<div style=\"width: 700px; height: 60px; background-image: url('data:image/svg+xml;base64,"
        + base64.b64encode(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="60"><text x="5" y="40" '
            f'font-size="30">{escape(p)}</text></svg>'.encode()
        ).decode()
        + "')\"></div>"
    ),
    "generated": lambda p: (
        "<style>#g::after { content: '" + "".join(f"\\{ord(c):x} " for c in p) + "'; }</style><div id=g></div>"
    ),
    "letters-in-visual-order": lambda p: "".join(  # each letter its own element, a pixel lower each
        f"<span style='position: absolute; left: {20 + 22 * i}px; top: {200 + i % 3}px'>{escape(c)}</span>"
        for i, c in reversed(list(enumerate(p)))
    ),
}


@pytest.mark.parametrize("channel", PIXELS)
def test_a_page_drawing_a_secret_as_pixels_shows_it_in_no_picture(page, channel):
    """Control: unpictured, the page with the password and the page with its twin (same length)
    differ. Pictured by the suite, the two are the same picture (the pixels were not drawn), or
    there is no picture and the note says why."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register(PASSWORD, "login.password")
    twin = "".join(chr(ord(c) + 1) if c.isalpha() else c for c in PASSWORD)
    pictures, notes, plain = [], [], []
    for value in (PASSWORD, twin):
        page.set_content(PAGE.format(PIXELS[channel](value)))
        plain.append(page.screenshot(full_page=True))
        png, note = picture_without_secrets(page)
        pictures.append(png)
        notes.append(note)
    assert plain[0] != plain[1], "control: the password is visible"
    if channel == "letters-in-visual-order":
        assert pictures[0] is None and "login.password" in notes[0], notes[0]
        return
    assert pictures[0] is not None and pictures[0] == pictures[1], f"the password drawn by {channel} shows"
    assert notes[0].startswith("pictured as text only"), notes[0]


def test_a_page_that_keeps_its_pixels_against_the_stylesheet_gets_no_picture(page):
    """An inline `!important` beats any stylesheet: the computed styles read back show the canvas
    still laid out, and no picture is given."""
    from suite.wire.login.screenshots import picture_without_secrets

    page.set_content(PAGE.format("<canvas style='display: block !important' width=50 height=50></canvas>"))
    png, note = picture_without_secrets(page)
    assert png is None and "keeps drawing pixels" in note, note


def test_a_normal_login_page_is_pictured_with_its_text_form_and_layout(page):
    """No false alarm: a login page with a logo, a background picture and a list is pictured; its text
    shows (the picture differs from that of the same page with other words), and its logo is hidden,
    as the note says; the page is as it was afterwards."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register("sandbox-password", "login.password")
    login = (
        "<img src='data:image/svg+xml;base64,{logo}' width=40 height=40><h2>{words}</h2>"
        "<ul><li>Use your work account</li></ul><label>Password <input type=password id=p></label>"
        "<button style='background-image: linear-gradient(red, blue)'>Sign in</button>"
    )
    logo = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="20" cx="20" cy="20"/></svg>').decode()
    pictures = []
    for words in ("Sandbox sign-in", "Another heading"):
        page.set_content(PAGE.format(login.format(logo=logo, words=words)))
        page.fill("#p", "sandbox-password")
        png, note = picture_without_secrets(page)
        assert png is not None, note
        pictures.append(png)
    assert pictures[0] != pictures[1], "the page's text is not pictured"
    assert "images, canvases, frames or media (1)" in note and "background images (1)" in note, note
    assert page.evaluate("getComputedStyle(document.querySelector('img')).display") == "inline"


def test_a_page_in_a_web_font_is_pictured_in_the_standard_font(page):
    """A web font can draw any letter as any other (the password's glyphs behind harmless text): the
    picture of a page in a web font is that of the same page without it. Control: unpictured, they
    differ."""
    from pathlib import Path

    from suite.wire.login.screenshots import screenshot_without_secrets

    font = next(Path("/usr/share/fonts/truetype").glob("**/*Mono*.ttf"), None)
    if font is None:
        pytest.skip("no TrueType font to serve as a web font")
    web_font = (
        f"<style>@font-face {{ font-family: 'sans-serif'; src: url(data:font/ttf;base64,"
        f"{base64.b64encode(font.read_bytes()).decode()}); }} p {{ font-family: 'sans-serif' !important; }}</style>"
    )
    pictures, plain = [], []
    for head in (web_font, ""):
        page.set_content(PAGE.format(head + "<p>harmless words</p>"))
        page.wait_for_timeout(100)  # the font loaded
        plain.append(page.screenshot(full_page=True))
        pictures.append(screenshot_without_secrets(page))
    assert plain[0] != plain[1], "control: the web font draws the text"
    assert pictures[0] is not None and pictures[0] == pictures[1], "the web font shows in the picture"
