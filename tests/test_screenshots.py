"""Screenshots show no secret: every element whose text, value, title or attribute holds a secret
the suite knows is masked before the picture is taken, not only password fields. Each secret
(password, client secret, access token) is planted in each place; the masked picture of a page
showing it is the same, pixel for pixel, as that of the page showing another secret of the same
length, while unmasked pictures of the two differ (the control: the secret is visible)."""

import base64
import codecs
import os
import textwrap
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


def _boxed(text: str) -> str:
    return f'<div style="width: 700px; height: 150px; overflow: hidden; word-break: break-all">{escape(text)}</div>'


DISGUISED_IN_ONE = {  # a page showing a password in one element, disguised as the scrubber reads it still
    "spaced-out": lambda p: f"<div>{escape(' '.join(p))}</div>",
    "upper-case": lambda p: f"<div>{escape(p.upper())}</div>",
    # an outside tester's login page showed these legibly in the screenshot of a failed sign-in (in a box of its
    # own size: a long run's width in the page's font would tell the twin passwords apart)
    "hex of utf-16": lambda p: _boxed(p.encode("utf-16-le").hex()),
    "base64 of rot13": lambda p: _boxed(base64.b64encode(codecs.encode(p, "rot13").encode()).decode()),
    "rot47": lambda p: _boxed("".join(chr(33 + (ord(c) - 33 + 47) % 94) if "!" <= c <= "~" else c for c in p)),
    "base64 of hex": lambda p: _boxed(base64.b64encode(p.encode().hex().encode()).decode()),
    "hex bytes 0x list": lambda p: _boxed(", ".join(f"0x{byte:02x}" for byte in p.encode())),
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


def test_a_page_showing_a_password_as_a_host_name_in_punycode_is_pictured_with_it_masked(page):
    """A page that used the password as a host name (http://<password>.evil.test) showed it as Chromium writes
    it, in punycode: the element is masked, as for any other form of the password."""
    from suite.wire.login.screenshots import picture_without_secrets

    pictures = []
    for value in ("Zq7pässwörd9x", "Zq7pässwörd9y"):
        REDACTOR.register(value, "login.password")
        host = "xn--" + value.lower().encode("punycode").decode()
        page.set_content(PAGE.format(f"<div>blocked: http://{host}.evil.test/pop</div>"))
        png, why_not = picture_without_secrets(page)
        assert png is not None, why_not
        pictures.append(png)
    assert pictures[0] == pictures[1], "the password in punycode shows in the screenshot"


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


def _decoys(style: str):
    """The password with a decoy letter the page hides by `style` after each of its letters: the page's
    text holds no password, the picture shows it."""
    return lambda p: (
        "<p>" + "".join(f"{escape(c)}<span style='{style}'>{'QJXVKM'[i % 6]}</span>" for i, c in enumerate(p)) + "</p>"
    )


HIDDEN = {  # a page showing a password its text does not hold as it is (an outside tester's, and more of each kind)
    "white-on-white": _decoys("color: #fff"),
    "font-size-0": _decoys("font-size: 0 !important"),
    "opacity-0": _decoys("opacity: 0"),
    "cyrillic-look-alikes": lambda p: (
        f"<p>{escape(p.replace('P', chr(0x420)).replace('x', chr(0x445)).replace('e', chr(0x435)))}</p>"
    ),
    "word-joiners": lambda p: f"<p>{escape(chr(0x2060).join(p))}</p>",
    "soft-hyphens": lambda p: f"<p>{escape(chr(0xAD).join(p))}</p>",
    "decimal-bytes": lambda p: "<p>codes: " + " ".join(str(b) for b in p.encode()) + "</p>",
    "visibility-hidden": _decoys("visibility: hidden; position: absolute"),
    "transparent": _decoys("color: transparent; margin-right: -0.6em"),
    "one-px-near-white": _decoys("font-size: 1px !important; color: #fefefe"),
    # the same, otherwise: the judgement is of the text as rendered, not of these styles
    "faint-ancestor": lambda p: (
        "<p>"
        + "".join(f"{escape(c)}<b style='opacity: 0.02'><i>{'QJXVKM'[i % 6]}</i></b>" for i, c in enumerate(p))
        + "</p>"
    ),
    "near-background": lambda p: (
        "<div style='background: #123456; color: #fff'>"
        + "".join(f"{escape(c)}<span style='color: #133457'>{'QJXVKM'[i % 6]}</span>" for i, c in enumerate(p))
        + "</div>"
    ),
    "clipped": _decoys("position: absolute; clip: rect(0 0 0 0)"),
    "covered-every-decoy": lambda p: (
        "<p>"
        + "".join(
            f"{escape(c)}<span style='position: relative'>{'QJXVKM'[i % 6]}<span style='position: absolute; inset: 0; "
            "background: #fff'></span></span>"
            for i, c in enumerate(p)
        )
        + "</p>"
    ),
    "white-letters-on-a-box-behind": lambda p: (
        "<div style='position: relative; height: 60px'>"
        "<div style='position: absolute; inset: 0; background: #000'></div><p style='position: relative; color: #fff'>"
        + "".join(f"{escape(c)}<span style='opacity: 0'>{'QJXVKM'[i % 6]}</span>" for i, c in enumerate(p))
        + "</p></div>"
    ),
    "field-look-alikes": lambda p: f"<input size=60 value='{escape(p.replace('P', chr(0x420)))}'>",
    "field-spaced-out": lambda p: f"<input size=70 value='{escape(' '.join(p))}'>",
    "placeholder-look-alikes": lambda p: f"<input size=60 placeholder='{escape(p.replace('x', chr(0x445)))}'>",
    "zoomed-out": _decoys("zoom: 0.05"),
    "zero-width-box": _decoys("display: inline-block; width: 0; overflow: hidden; vertical-align: bottom"),
    "scrolled-away": _decoys("display: inline-block; height: 1.2em; overflow: hidden; line-height: 5em"),
    "fill-transparent": _decoys("-webkit-text-fill-color: transparent"),  # paints over `color`
    "oklch-white": _decoys("color: oklch(1 0 0)"),  # a colour space Chromium keeps in computed styles
    "lab-white-on-lab-grey": lambda p: (
        "<div style='background: lab(50 0 0)'>"
        + "".join(f"{escape(c)}<span style='color: lab(50.2 0 0)'>{'QJXVKM'[i % 6]}</span>" for i, c in enumerate(p))
        + "</div>"
    ),
    "off-the-page": _decoys("position: absolute; left: -9999px"),
    "greek-look-alikes": lambda p: f"<p>{escape(p.replace('Z', chr(0x396)).replace('P', chr(0x3A1)))}</p>",
    "hex-bytes": lambda p: "<p>" + " ".join(f"0x{b:02x}" for b in p.encode()) + "</p>",
    "octal-bytes": lambda p: "<p>" + "<span>,</span>".join(f"<span>{b:o}</span>" for b in p.encode()) + "</p>",
    "base64-split": lambda p: "<p>" + "</p><p>".join(textwrap.wrap(base64.b64encode(p.encode()).decode(), 7)) + "</p>",
    "full-width": lambda p: f"<p>{escape(''.join(chr(ord(c) + 0xFEE0) if '!' <= c <= '~' else c for c in p))}</p>",
    # when in doubt: within a few edits of the password (one per six of its letters), on a page the suite typed it in
    "covered-decoys": lambda p: (
        "<p>"
        + "".join(
            f"{escape(c)}<span style='position: relative'>{'QJ'[i]}<span style='position: absolute; inset: 0; "
            "background: #fff'></span></span>"
            if i < 2
            else escape(c)
            for i, c in enumerate(p)
        )
        + "</p>"
    ),
    "a-look-alike-unknown": lambda p: f"<p>{escape(p.replace('Z', chr(0x13C3)))}</p>",  # Cherokee NO, a Z
}


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_page_showing_a_secret_its_text_does_not_hold_gets_no_picture(page, hidden):
    """A page whose text, as the DOM holds it, is not the password, while its picture shows it: decoy letters
    hidden between its letters, look-alike letters, invisible characters between them, its bytes as numbers.
    Control: the unmasked picture differs from that of the same page showing another password of the same
    length. The suite gives no picture, and says why; or, where the scrubber reads the disguise in one element
    and masks that element, the same picture as of the page showing the other password, masked alike."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register(PASSWORD, "login.password")
    twin = "".join(chr(ord(c) + 1) if c.isalpha() else c for c in PASSWORD)
    page.set_content(PAGE.format(HIDDEN[hidden](twin)))
    other = page.screenshot(full_page=True)
    page.set_content(PAGE.format(HIDDEN[hidden](PASSWORD)))
    assert page.screenshot(full_page=True) != other, "control: the password is visible"
    png, why_not = picture_without_secrets(page)
    if png is not None:  # the scrubber read the disguise in one element and masked it: no pixel of it drawn
        REDACTOR.register(twin, "login.password")
        page.set_content(PAGE.format(HIDDEN[hidden](twin)))
        assert png == picture_without_secrets(page)[0], f"the password shows in the screenshot ({hidden})"
        return
    assert "login.password" in why_not and "spread over several elements" in why_not, why_not


ORDINARY = {  # pages no secret is in: pictured (the sign-in's password typed in the field, masked)
    "error page": "<h2>Sign-in failed</h2><p>That did not work. Try again, or call 555 0100 (ref 48 65 6c).</p>",
    "faint footer": "<p>Password rules apply.</p><footer style='color: #eee; font-size: 9px'>v1.2.3</footer>",
    "hidden help": "<p>Sandbox sign-in</p><p style='visibility: hidden'>sandbox password help</p>",
    "password words": "<p>Password is required. Password1 rules: passwords must be 8 characters.</p>",
}


@pytest.mark.parametrize("ordinary", ORDINARY)
def test_an_ordinary_page_is_pictured(page, ordinary, monkeypatch):
    """No false alarm: the page's own words near a weak password of its test user (a letter short, a letter
    changed to another, 0 for o) are not the password. A redactor of the test's own: these weak passwords
    are masked nowhere else."""
    import suite.wire.login.screenshots as screenshots
    from suite.secrets.redaction import Redactor

    redactor = Redactor()
    monkeypatch.setattr(screenshots, "REDACTOR", redactor)
    for weak in (PASSWORD, "sandbox-password", "Passw0rd", "Password1!", "Passwordl"):
        redactor.register(weak, "login.password")
    page.set_content(PAGE.format(ORDINARY[ordinary] + "<label>Password <input type=password id=p></label>"))
    page.fill("#p", "sandbox-password")
    png, why_not = screenshots.picture_without_secrets(page)
    assert png is not None, why_not


def test_text_blended_away_is_pictured_as_it_is_drawn_without_blending(page):
    """Decoys black on white but blended away (`mix-blend-mode: lighten` draws nothing of them): pictured
    as if not blended (the decoys shown), the same picture as the page without the blend mode, and the
    note says the blend modes were taken out."""
    from suite.wire.login.screenshots import picture_without_secrets

    REDACTOR.register(PASSWORD, "login.password")
    pictures, notes = [], []
    for style in ("mix-blend-mode: lighten", "color: black"):
        page.set_content(PAGE.format(_decoys(style)(PASSWORD)))
        png, note = picture_without_secrets(page)
        pictures.append(png)
        notes.append(note)
    assert pictures[0] is not None and pictures[0] == pictures[1], notes[0]
    assert "blend modes" in notes[0], notes[0]


def test_a_page_with_more_text_at_more_levels_than_the_suite_reads_gets_no_picture(page, monkeypatch):
    """Reading the text again at each level of visibility is bounded: past MAX_READING characters in all, no picture."""
    import suite.wire.login.screenshots as screenshots

    REDACTOR.register(PASSWORD, "login.password")
    page.set_content(PAGE.format("".join(f"<p style='color: rgb({i * 40}, 0, 0)'>line {i}</p>" for i in range(5))))
    assert screenshots.picture_without_secrets(page)[0] is not None
    monkeypatch.setattr(screenshots, "MAX_READING", 100)
    png, note = screenshots.picture_without_secrets(page)
    assert png is None and note == screenshots.TOO_MUCH_TEXT, note


def test_a_page_with_more_pieces_of_a_secret_than_the_suite_checks_is_in_doubt(page, monkeypatch):
    """Looking for a secret near is bounded: past MAX_NEAR_CHECKS different places a piece of it is, no picture."""
    import suite.wire.login.screenshots as screenshots

    REDACTOR.register(PASSWORD, "login.password")
    pieces = "".join(f"<p>{escape(PASSWORD[:5])} and then {i}</p>" for i in range(5))
    page.set_content(PAGE.format(pieces))
    assert screenshots.picture_without_secrets(page)[0] is not None
    monkeypatch.setattr(screenshots, "MAX_NEAR_CHECKS", 3)
    png, note = screenshots.picture_without_secrets(page)
    assert png is None and "login.password" in note, note


@pytest.mark.parametrize(
    ("computed", "expected"),
    [
        ("rgb(255, 255, 255)", (255, 255, 255, 1)),
        ("rgba(0, 0, 0, 0)", (0, 0, 0, 0)),
        ("oklch(1 0 0)", (255, 255, 255, 1)),
        ("oklab(0 0 0 / 0.5)", (0, 0, 0, 0.5)),
        ("lab(100 0 0)", (255, 255, 255, 1)),
        ("lch(0 0 none)", (0, 0, 0, 1)),
        ("color(srgb 1 0 0 / 0.25)", (255, 0, 0, 0.25)),
        ("color(display-p3 0 1 0)", (0, 255, 0, 1)),
        ("color(xyz-d65 0.9505 1 1.089)", (255, 255, 255, 1)),
        ("color(srgb-linear 0 0 1)", (0, 0, 255, 1)),
    ],
)
def test_the_colours_chromium_computes_are_read_in_srgb(computed, expected):
    from suite.wire.login.screenshots import _colour

    assert _colour(computed) == pytest.approx(expected, abs=2), computed


@pytest.mark.parametrize("shown", ["HostiIePw4Zq9", "HOSTILEPW4ZQ9", "hostilepw4zq9"])
def test_a_capital_i_for_an_l_and_other_letter_case_show_the_password(page, monkeypatch, shown):
    """In the standard sans-serif font a capital I is an l: the password with one for its l gets no picture,
    as it does upper- or lower-cased (where its i is an I). Control: the same page with an ordinary word."""
    import suite.wire.login.screenshots as screenshots
    from suite.secrets.redaction import Redactor

    redactor = Redactor()
    monkeypatch.setattr(screenshots, "REDACTOR", redactor)
    redactor.register("HostilePw4Zq9", "login.password")
    page.set_content(PAGE.format("<p>Sign-in failed for HostileUser</p>"))
    assert screenshots.picture_without_secrets(page)[0] is not None
    page.set_content(PAGE.format(f"<p>{shown}</p>"))
    png, note = screenshots.picture_without_secrets(page)
    if png is not None:  # masked where it stands (the scrubber reads other letter case): no pixel of it drawn
        redactor.register("HostilePw4Zq8", "login.password")
        page.set_content(PAGE.format(f"<p>{shown[:-1]}8</p>"))
        assert png == screenshots.picture_without_secrets(page)[0], f"the password shows: {shown}"
        return
    assert "login.password" in note, note
