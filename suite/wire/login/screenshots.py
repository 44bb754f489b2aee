"""Screenshots of a page without the secrets it shows: before the picture is taken, every element
whose text, value, title or any attribute holds a secret the suite knows (suite.secrets.redaction:
the password, client secrets, tokens, in any of their encodings) is masked, not only password
fields. What holds a secret is read from the browser's own snapshot of the page (DevTools
DOMSnapshot), which the page's scripts cannot fake; the elements are marked through DevTools and
masked by Playwright. A snapshot after the picture must find every secret still inside a masked
element, or no picture is given (a page that moved its secret meanwhile).

A secret no one element holds, but the page shows all the same (its halves in two elements, its
letters spaced out, upper-cased: "Your password was: <span>QZ7P</span><span>W d+</span>"), gets the
page no picture at all: the text the page shows, outside the masked elements, is read in the order of
its elements and in the order it is laid out on the screen, its white space taken out and its case
folded, and looked for each secret so folded. The page's scripts are stopped while it is pictured,
so that it holds still and a page re-sending everything every 150 ms does not make the picture wait.

That text is judged as rendered, not as the DOM holds it: a page can put decoy letters between a
secret's letters that the picture does not show (white on white, 0 or 1 px high, transparent,
hidden, clipped, covered). Each text box, and what each form field shows (_fields_shown), gets a
visibility (_visibility) from the browser's computed styles and paint order, and the text is read
again at each level of visibility it has, only what is at least that visible kept: decoys less
visible than the letters drop out, whatever hides them. Every reading is folded as
a reader reads it (_folded: format characters such as joiners and soft hyphens, combining marks and
white space out, compatibility forms and Cyrillic, Greek and IPA look-alikes to Latin letters),
searched for the encodings the suite knows (REDACTOR) and for the secret's bytes written as numbers
(decimal, hex, octal, binary); and, when in doubt, for a text within a few edits of a secret
(_Wanted.near). Any of these withholds the picture.

A page can also draw a secret as pixels, which no text search finds: on a <canvas>, in an <img> whose
source is an SVG, a background image, generated content (::before), a web font whose glyphs draw
other letters. The server knows its test user's password, so it can always do so: the picture is
taken with every channel that paints anything but the page's text in a standard font turned off (a
stylesheet of the suite's, put in by DevTools while the page's scripts are stopped: PICTURE_ONLY_TEXT),
and the browser's own computed styles are read back to prove it took effect; a page that kept one
(an inline `!important` of its own) gets no picture. The note beside the picture says what was hidden."""

import contextlib
import math
import re
import unicodedata

from suite.secrets.redaction import MIN_SECRET_LENGTH, REDACTOR

MARK = "data-suite-secret"
# An element can hold one id only, so `:not(#a#b…)` matches every element, with the specificity of ten
# ids: the suite's `!important` wins over the page's own stylesheets (not over an inline `!important`,
# which the computed styles read back then show)
EVERY = ":not(#a#b#c#d#e#f#g#h#i#j)"
NON_TEXT = ("canvas", "img", "svg", "picture", "video", "audio", "object", "embed", "iframe", "frame", "math")
PICTURE_ONLY_TEXT = f"""
{EVERY}:is({", ".join(NON_TEXT)}), input[type=image i]{EVERY} {{ display: none !important; }}
{EVERY}, {EVERY}::before, {EVERY}::after, {EVERY}::marker, {EVERY}::placeholder, {EVERY}::first-letter {{
  background-image: none !important; border-image: none !important; mask: none !important;
  -webkit-mask-box-image: none !important; list-style: none !important; text-shadow: none !important;
  box-shadow: none !important; filter: none !important; backdrop-filter: none !important;
  clip-path: none !important; transform: none !important; rotate: none !important; scale: none !important;
  translate: none !important; font-family: sans-serif !important; font-feature-settings: normal !important;
  font-variation-settings: normal !important; -webkit-text-stroke-width: 0 !important;
  writing-mode: horizontal-tb !important; direction: ltr !important; unicode-bidi: isolate !important;
  text-transform: none !important; cursor: auto !important; mix-blend-mode: normal !important;
}}
{EVERY} {{ content: normal !important; }}
{EVERY}::before, {EVERY}::after, {EVERY}::marker {{ content: none !important; display: none !important; }}
"""
# What the browser computes for every element pictured, once the stylesheet took effect: a value
# other than these is a pixel channel the page kept open
NEUTRAL = {
    "background-image": "none",
    "border-image-source": "none",
    "mask-image": "none",
    "list-style-image": "none",
    "text-shadow": "none",
    "box-shadow": "none",
    "filter": "none",
    "backdrop-filter": "none",
    "clip-path": "none",
    "transform": "none",
    "content": "normal",
    "writing-mode": "horizontal-tb",
    "font-family": "sans-serif",
    "mix-blend-mode": "normal",
}
HIDING = {  # what a page shows that the picture leaves out, as the note says it
    "background-image": "background images",
    "border-image-source": "border images",
    "mask-image": "masks",
    "list-style-image": "list images",
    "text-shadow": "text shadows",
    "box-shadow": "shadows",
    "filter": "filters",
    "backdrop-filter": "filters",
    "clip-path": "clip paths",
    "transform": "transforms",
    "content": "generated content",
    "writing-mode": "vertical writing",
    "font-family": "fonts",  # shown in a standard font, as the note always says: not "hidden"
    "mix-blend-mode": "blend modes",  # text blended away against what is behind it
}
PICTURED_AS_TEXT = (
    "pictured as text only: the page's {hidden} are hidden and its text is shown in a standard font, "
    "for a page can draw a secret as pixels no mask finds"
)
KEPT_PIXELS = (
    "no screenshot: the page keeps drawing pixels other than its text ({what}) against the suite's "
    "stylesheet, and may draw a secret with them"
)
# How visible each piece of text is, as rendered, is read from these computed styles (_visibility)
SEEN = (
    "visibility",
    "opacity",
    "-webkit-text-fill-color",
    "background-color",
    "background-clip",
    "clip",
    "overflow-x",
    "overflow-y",
)
MAX_READING = 30_000_000  # characters read over all the levels of a page's text: more, and the page gets no picture
MAX_NEAR_LENGTH = 64  # secrets looked for near (a password, a client secret): a token, longer, only as it is
MAX_NEAR_CHECKS = 1000  # pieces of a page's text, each different, checked for a secret near: more, and no picture
LEGIBLE_PX = 12  # a text box this high or more is as legible as text gets; a lower one, less in proportion
NEAR_EVERY = 6  # a text within one edit (a letter changed, one put in) per so many letters of a secret shows it
# Look-alikes of Latin letters (Unicode TR39 confusables: Cyrillic, Greek, IPA), folded before the case is;
# the rest (full-width, mathematical, ligatures, superscripts) NFKD folds. A capital I reads as l too (as in the
# standard sans-serif font) in a second folding, for its case folded, it is i, which does not; 1, |, 0 and O are
# read as they are: a weak password (Passw0rd) is not the word Password
_ALIKE = {
    "A": "\u0410\u0391",
    "B": "\u0412\u0392",
    "C": "\u0421\u03f9",
    "E": "\u0415\u0395",
    "H": "\u041d\u0397",
    "I": "\u0406\u04c0\u0399",
    "J": "\u0408",
    "K": "\u041a\u039a",
    "M": "\u041c\u039c",
    "N": "\u039d",
    "O": "\u041e\u039f",
    "P": "\u0420\u03a1",
    "Q": "\u051a",
    "S": "\u0405",
    "T": "\u0422\u03a4",
    "W": "\u051c",
    "X": "\u0425\u03a7",
    "Y": "\u04ae\u03a5",
    "Z": "\u0396",
    "a": "\u0430\u0251\u03b1",
    "c": "\u0441\u03f2",
    "d": "\u0501",
    "e": "\u0435",
    "g": "\u0261",
    "h": "\u04bb",
    "i": "\u0456\u03b9",
    "j": "\u0458\u03f3",
    "k": "\u03ba",
    "l": "\u04cf\u0131\u01c0",
    "o": "\u043e\u03bf",
    "p": "\u0440\u03c1",
    "q": "\u051b",
    "s": "\u0455",
    "u": "\u03c5",
    "v": "\u03bd",
    "w": "\u051d",
    "x": "\u0445\u03c7",
    "y": "\u0443",
}
LOOK_ALIKES = str.maketrans({alike: latin for latin, alikes in _ALIKE.items() for alike in alikes})
NOT_PICTURED = "no screenshot: the page is gone, or it would not hold still while pictured"
TOO_MUCH_TEXT = (
    "no screenshot: the page shows too much text at too many levels of visibility for the suite to read it all "
    "for secrets"
)
SHOWS_A_SECRET = (
    "no screenshot: the page shows the {what} spread over several elements (or spaced out, or in other "
    "letter case, among letters it hides, in look-alike letters, as numbers, or nearly), which no mask over "
    "one element would hide"
)


def screenshot_without_secrets(page) -> bytes | None:
    """A PNG of the whole page with every element holding a known secret masked, or None when the
    page is gone, would not hold still, or shows a secret no element holds whole."""
    return picture_without_secrets(page)[0]


def picture_without_secrets(page) -> tuple[bytes | None, str]:
    """The PNG of screenshot_without_secrets, pictured as text only (PICTURE_ONLY_TEXT), and a note
    saying what it leaves out; or None and why there is none."""
    try:
        devtools = page.context.new_cdp_session(page)
    except Exception:
        return None, NOT_PICTURED
    stylesheet = None
    try:
        devtools.send("Emulation.setScriptExecutionDisabled", {"value": True})
        devtools.send("DOM.enable")
        devtools.send("CSS.enable")
        devtools.send("DOM.getDocument", {"depth": 0})
        hidden = [what for what in _pixel_channels(devtools) if not what.startswith(HIDING["font-family"])]
        frame = devtools.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
        stylesheet = devtools.send("CSS.createStyleSheet", {"frameId": frame})["styleSheetId"]
        devtools.send("CSS.setStyleSheetText", {"styleSheetId": stylesheet, "text": PICTURE_ONLY_TEXT})
        kept = _pixel_channels(devtools)
        if kept:
            return None, KEPT_PIXELS.format(what=", ".join(kept))
        holding = _holding_secrets(devtools)
        shown = _shown_across_elements(devtools, holding)
        if shown:
            return None, shown
        if holding:
            node_ids = devtools.send("DOM.pushNodesByBackendIdsToFrontend", {"backendNodeIds": sorted(holding)})
            for node_id in node_ids["nodeIds"]:
                if node_id:
                    devtools.send("DOM.setAttributeValue", {"nodeId": node_id, "name": MARK, "value": ""})
        png = page.screenshot(
            mask=[page.locator("input[type=password]"), page.locator(f"[{MARK}]")],
            mask_color="#000000",
            full_page=True,
            timeout=5000,
        )
        after = _holding_secrets(devtools)
        if not after <= _marked(devtools) or _pixel_channels(devtools):
            return None, NOT_PICTURED
        shown = _shown_across_elements(devtools, after)
        if shown:
            return None, shown
        return bytes(png), PICTURED_AS_TEXT.format(hidden=", ".join(hidden)) if hidden else ""
    except Exception:  # the page is gone, or changed under the snapshot: no picture rather than a secret
        return None, NOT_PICTURED
    finally:
        if stylesheet is not None:  # the sign-in goes on, on the page as it was
            with contextlib.suppress(Exception):
                devtools.send("CSS.setStyleSheetText", {"styleSheetId": stylesheet, "text": ""})
        with contextlib.suppress(Exception):
            devtools.send("Emulation.setScriptExecutionDisabled", {"value": False})
        with contextlib.suppress(Exception):
            devtools.detach()


def _snapshot(devtools, styles=tuple(NEUTRAL)) -> tuple[list[str], list[dict]]:
    snapshot = devtools.send("DOMSnapshot.captureSnapshot", {"computedStyles": list(styles), "includePaintOrder": True})
    return snapshot["strings"], snapshot["documents"]


def _pixel_channels(devtools) -> list[str]:
    """What the page, as laid out now, paints other than its text in a standard font, with how many
    of each, as a note says it: elements painting pixels of their own (canvas, img, svg, ...),
    generated content (::before, ::after, ::marker), and the styles of NEUTRAL set otherwise.
    Hidden frames are not laid out and count for nothing."""
    strings, documents = _snapshot(devtools)
    found: dict[str, int] = {}
    for document in documents:
        nodes, layout = document["nodes"], document.get("layout", {})
        names, kinds = nodes["nodeName"], nodes["nodeType"]
        attributes = nodes.get("attributes", [])
        for node, styles in zip(layout.get("nodeIndex", []), layout.get("styles", []), strict=False):
            if kinds[node] != 1:
                continue
            name = strings[names[node]].casefold()
            pairs = attributes[node] if node < len(attributes) else []
            given = {
                strings[pairs[i]].casefold(): strings[pairs[i + 1]].casefold() for i in range(0, len(pairs) - 1, 2)
            }
            if name in NON_TEXT or (name == "input" and given.get("type") == "image"):
                found["images, canvases, frames or media"] = found.get("images, canvases, frames or media", 0) + 1
                continue
            if name in ("::before", "::after", "::marker"):  # ::first-letter is the page's own text
                found["generated content"] = found.get("generated content", 0) + 1
                continue
            for (style, neutral), value in zip(NEUTRAL.items(), styles, strict=False):
                if strings[value] != neutral:
                    found[HIDING[style]] = found.get(HIDING[style], 0) + 1
    return [f"{what} ({count})" for what, count in found.items()]


class _Folding(dict[int, int | str | None]):
    """str.translate's table for _folded, filled as characters come: white space, format characters
    (category Cf) and combining marks (Mn, Me) dropped, look-alikes (LOOK_ALIKES) to their Latin letters."""

    def __missing__(self, code: int) -> int | str | None:
        character = chr(code)
        folded: int | str | None = LOOK_ALIKES.get(code, code)
        if character.isspace() or unicodedata.category(character) in ("Cf", "Mn", "Me"):
            folded = None
        self[code] = folded
        return folded


FOLDING = _Folding()


def _folded(text: str, capital_i: bool = False) -> str:
    """The text as its letters read: NFKD (full-width, mathematical and other compatibility forms to
    their letters), without white space, format characters (category Cf: joiners, soft hyphens,
    direction marks) or combining marks, look-alike letters folded to the Latin ones (LOOK_ALIKES)
    and the case folded; with `capital_i`, a capital I (a look-alike's too) read as l first."""
    folded = unicodedata.normalize("NFKD", text).translate(FOLDING)
    return (folded.replace("I", "l") if capital_i else folded).casefold()


def _shown_across_elements(devtools, holding: set[int]) -> str:
    """Why the page gets no picture (SHOWS_A_SECRET, naming the secret), for a known secret its text shows
    outside the elements holding one whole (masked), as shown_in_text finds it; "" for none. Each
    frame's text is read in the order of its elements and in the order it is laid out (top to bottom,
    left to right: a stylesheet can show elements in another order than theirs); all of it, and then
    as rendered: at each level of visibility the page's text shows (_visibility: a letter white on
    white, 0 px high, transparent, hidden, clipped or off the page is not seen), the text seen at that
    level or better, for a page can hide decoys between the letters of a secret that a reader of the
    picture does not see. At those levels, a text within a few edits of a secret (_Wanted.near) shows
    it too. A page with more text at more levels than MAX_READING gets no picture (TOO_MUCH_TEXT)."""
    secrets = REDACTOR.known()
    wanted = _Wanted(secrets)
    if not wanted.secrets:
        return ""
    strings, documents = _snapshot(devtools, SEEN)
    for document in documents:
        nodes = document["nodes"]
        parents, values, backend = nodes["parentIndex"], nodes["nodeValue"], nodes["backendNodeId"]

        def masked(index: int, parents=parents, backend=backend) -> bool:
            return _inside(index, parents, backend, holding)

        in_order = "".join(
            strings[values[i]]
            for i, kind in enumerate(nodes["nodeType"])
            if kind == 3 and values[i] >= 0 and not masked(i)
        )
        layout = document.get("layout", {})
        boxes = document.get("textBoxes", {})
        texts = layout.get("text", [])
        seen, backgrounds = _visibility(strings, document)
        if len(boxes.get("layoutIndex", [])) * backgrounds > MAX_READING // 10:
            return TOO_MUCH_TEXT
        laid_out = []  # (node, start, bounds, text, how visible, rounded)
        for box, bounds, start, length in zip(
            boxes.get("layoutIndex", []),
            boxes.get("bounds", []),
            boxes.get("start", []),
            boxes.get("length", []),
            strict=False,
        ):
            text = texts[box] if box < len(texts) else -1
            node = layout["nodeIndex"][box]
            if text >= 0 and not masked(node):
                laid_out.append((node, start, bounds, strings[text][start : start + length], seen(node, bounds)))
        laid_out += _fields_shown(strings, document, masked, seen)
        on_screen = _in_visual_order([(box[2], box[3], index) for index, box in enumerate(laid_out)])
        shown = shown_in_text(in_order, secrets) or shown_in_text("".join(box[1] for box in on_screen), secrets)
        if shown:
            return SHOWS_A_SECRET.format(what=shown)
        # each box read once: its text, folded, and the numbers it shows in each base
        levels = [round(box[4], 2) for box in laid_out]
        raw = ["".join(box[3].split()) for box in laid_out]
        folded = [_folded(box[3]) for box in laid_out]
        capitals = [_folded(box[3], capital_i=True) for box in laid_out]
        numbers = [_numbers(box[3]) for box in laid_out]
        orders = (
            sorted(range(len(laid_out)), key=lambda index: (laid_out[index][0], laid_out[index][1])),
            [box[2] for box in on_screen],
        )
        distinct = sorted({level for level in levels if level > 0}, reverse=True)
        if len(distinct) * (sum(map(len, raw)) + len(raw)) * len(orders) > MAX_READING:
            return TOO_MUCH_TEXT
        for level in distinct:
            for order in orders:
                kept = [index for index in order if levels[index] >= level]
                shown = (
                    wanted.shown_folded(
                        "".join(folded[index] for index in kept), "".join(capitals[index] for index in kept)
                    )
                    or wanted.shown_encoded("".join(raw[index] for index in kept))
                    or wanted.shown_as_numbers(["".join(numbers[index][base] for index in kept) for base in range(4)])
                    or wanted.near("".join(folded[index] for index in kept))
                )
                if shown:
                    return SHOWS_A_SECRET.format(what=shown)
    return ""


def _fields_shown(strings: list[str], document: dict, masked, seen) -> list[tuple]:
    """What the page's form fields show, as text boxes are read (node, 0, bounds, text, how visible):
    the value of each field but a password field (masked whatever it holds), or its placeholder
    while it has none. The browser draws them in a shadow tree of its own, out of the snapshot's text."""
    nodes, layout = document["nodes"], document.get("layout", {})
    bounds = dict(zip(layout.get("nodeIndex", []), layout.get("bounds", []), strict=False))
    rare = nodes.get("inputValue", {})
    values = dict(zip(rare.get("index", []), rare.get("value", []), strict=False))
    attributes = nodes.get("attributes", [])
    shown = []
    for node, name in enumerate(nodes["nodeName"]):
        if strings[name].casefold() not in ("input", "textarea") or node not in bounds or masked(node):
            continue
        pairs = attributes[node] if node < len(attributes) else []
        given = {strings[pairs[i]].casefold(): strings[pairs[i + 1]] for i in range(0, len(pairs) - 1, 2)}
        if given.get("type", "").casefold() in ("password", "hidden"):
            continue
        text = strings[values[node]] if values.get(node, -1) >= 0 else ""
        text = text or given.get("placeholder", "")
        if text:
            shown.append((node, 0, bounds[node], text, seen(node, bounds[node])))
    return shown


def _visibility(strings: list[str], document: dict):
    """How visible, as rendered, a text box of a node is, from 0 (not seen at all) to 1: the product
    of its visibility, its colour's contrast against the background behind it, its height (LEGIBLE_PX
    or more counts as fully legible), how much of it is inside the boxes of the elements clipping it
    (overflow, clip) and the page, and how much of it no opaque background painted over it covers.
    Behind a text and over it are the background colours (the suite's stylesheet leaves backgrounds
    their colours only) of the elements painted before it, or after it (the browser's paint order), under
    its middle or over it: ancestors or not (a box set under the text, or over it); the page's root
    colours the whole canvas. Each colour's alpha and the opacity of every element around it count.
    Also returns how many backgrounds a text box is compared with (the cost of reading it)."""
    nodes, layout = document["nodes"], document.get("layout", {})
    parents, kinds, names = nodes["parentIndex"], nodes["nodeType"], nodes["nodeName"]
    styles = {
        node: dict(zip(SEEN, (strings[i] for i in style), strict=False))
        for node, style in zip(layout.get("nodeIndex", []), layout.get("styles", []), strict=False)
    }
    bounds = dict(zip(layout.get("nodeIndex", []), layout.get("bounds", []), strict=False))
    painted = dict(zip(layout.get("nodeIndex", []), layout.get("paintOrders", []), strict=False))
    page = (0.0, 0.0, float(document.get("contentWidth", 1e9)), float(document.get("contentHeight", 1e9)))
    canvas = (-1e9, -1e9, 3e9, 3e9)
    # for each node, in document order (a parent before its children): the opacity of it and its ancestors,
    # and the box its content is clipped to
    around: list[tuple[float, tuple[float, float, float, float]]] = []
    for node, parent in enumerate(parents):
        opacity, clip = around[parent] if 0 <= parent < node else (1.0, page)
        style = styles.get(node)
        box = bounds.get(node)
        if style is not None and kinds[node] == 1 and box is not None:
            opacity *= _number(style.get("opacity", "1"), 1.0)
            if any(style.get(f"overflow-{axis}", "visible") != "visible" for axis in "xy"):
                clip = _intersection(clip, box)
            rect = re.findall(r"(-?[\d.]+)px|auto", style.get("clip", "auto"))
            if style.get("clip", "auto") != "auto" and len(rect) == 4:
                top, right, bottom, left = (float(v) if v else None for v in rect)
                clip = _intersection(
                    clip,
                    (
                        box[0] + (left or 0),
                        box[1] + (top or 0),
                        (right if right is not None else box[2]) - (left or 0),
                        (bottom if bottom is not None else box[3]) - (top or 0),
                    ),
                )
        around.append((opacity, clip))
    # the backgrounds painted, in the order they are: (paint order, node, box, colour, alpha)
    backgrounds = []
    root_coloured = False
    for node, style in styles.items():
        if kinds[node] != 1 or node not in bounds or style.get("visibility", "visible") != "visible":
            continue
        if style.get("background-clip", "border-box") == "text":  # paints the element's letters only
            continue
        red, green, blue, alpha = _colour(style.get("background-color", ""))
        alpha *= around[node][0]
        name = strings[names[node]].casefold()
        root = name == "html" or (name == "body" and not root_coloured)
        root_coloured = root_coloured or (name == "html" and alpha > 0)
        if alpha <= 0:
            continue
        parent = parents[node]
        box = canvas if root else _intersection(around[parent][1] if parent >= 0 else page, bounds[node])
        backgrounds.append((painted.get(node, 0), node, box, (red, green, blue), alpha))
    backgrounds.sort(key=lambda background: (background[0], background[1]))

    def seen(node: int, box: list[float]) -> float:
        style = styles.get(node, {})
        if style.get("visibility", "visible") != "visible":
            return 0.0
        opacity, clip = around[parents[node]]  # a text node's element
        x, y, width, height = box
        if width <= 0 or height <= 0:
            return 0.0
        middle_x, middle_y = x + width / 2, y + height / 2
        order = painted.get(node, 0)
        behind = (255.0, 255.0, 255.0)
        covered = 0.0
        for paint, _, (left, top, wide, high), colour, alpha in backgrounds:
            if paint <= order:
                if left <= middle_x <= left + wide and top <= middle_y <= top + high:
                    behind = (
                        alpha * colour[0] + (1 - alpha) * behind[0],
                        alpha * colour[1] + (1 - alpha) * behind[1],
                        alpha * colour[2] + (1 - alpha) * behind[2],
                    )
            elif alpha >= 0.9:
                over = _intersection((left, top, wide, high), (x, y, width, height))
                covered = max(covered, over[2] * over[3] / (width * height))
        red, green, blue, alpha = _colour(style.get("-webkit-text-fill-color", ""))  # what paints the text
        alpha *= opacity
        contrast = max(abs(alpha * c + (1 - alpha) * b - b) for c, b in zip((red, green, blue), behind, strict=True))
        inside = _intersection(clip, (x, y, width, height))
        shown = inside[2] * inside[3] / (width * height) * (1 - covered)
        return float(contrast / 255 * min(1.0, height / LEGIBLE_PX) * shown)

    return seen, len(backgrounds)


def _intersection(a, b) -> tuple[float, float, float, float]:
    x, y = max(a[0], b[0]), max(a[1], b[1])
    return x, y, max(0.0, min(a[0] + a[2], b[0] + b[2]) - x), max(0.0, min(a[1] + a[3], b[1] + b[3]) - y)


def _number(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def _colour(text: str) -> tuple[float, float, float, float]:
    """A computed colour's red, green, blue (0-255, sRGB) and alpha (0-1), in any form Chromium computes
    one to: rgb(), rgba(), and the CSS Color 4 spaces it keeps (lab, lch, oklab, oklch, color(srgb …),
    color(display-p3 …), color(xyz …), …; `none` as 0). A form the suite does not read counts as
    black, opaque."""
    name, _, rest = text.partition("(")
    name = name.strip().casefold()
    rest = rest.rstrip(") ")
    values, _, alpha_text = rest.replace(",", " ").partition("/")
    words = values.split()
    space = words.pop(0).casefold() if name == "color" and words else name
    alpha = _channel(alpha_text.strip(), 1.0) if alpha_text.strip() else 1.0
    if name == "rgba" and len(words) == 4:  # the legacy form, alpha without a slash
        alpha = _channel(words.pop(), 1.0)
    numbers = [_channel(word, 1.0) for word in words]
    if len(numbers) != 3:
        return 0.0, 0.0, 0.0, 1.0
    first, second, third = numbers
    if space in ("rgb", "rgba"):
        return first, second, third, alpha
    if space in ("lch", "oklch"):  # polar: lightness, chroma, hue in degrees
        hue = math.radians(third)
        second, third = second * math.cos(hue), second * math.sin(hue)
    if space in ("lab", "lch"):  # CIE Lab (D50) to XYZ to linear sRGB
        fy = (first + 16) / 116
        fx, fz = fy + second / 500, fy - third / 200
        x, y, z = (0.96422 * _lab_inverse(fx), _lab_inverse(fy), 0.82521 * _lab_inverse(fz))
        linear = _times(
            (
                (3.1338561, -1.6168667, -0.4906146),
                (-0.9787684, 1.9161415, 0.0334540),
                (0.0719453, -0.2289914, 1.4052427),
            ),
            (x, y, z),
        )
    elif space in ("oklab", "oklch"):
        cube = [
            value**3
            for value in _times(
                ((1, 0.3963377774, 0.2158037573), (1, -0.1055613458, -0.0638541728), (1, -0.0894841775, -1.2914855480)),
                (first, second, third),
            )
        ]
        linear = _times(
            (
                (4.0767416621, -3.3077115913, 0.2309699292),
                (-1.2684380046, 2.6097574011, -0.3413193965),
                (-0.0041960863, -0.7034186147, 1.7076147010),
            ),
            cube,
        )
    elif space in ("xyz", "xyz-d65"):
        linear = _times(
            (
                (3.2404542, -1.5371385, -0.4985314),
                (-0.9692660, 1.8760108, 0.0415560),
                (0.0556434, -0.2040259, 1.0572252),
            ),
            numbers,
        )
    elif space == "xyz-d50":
        linear = _times(
            (
                (3.1338561, -1.6168667, -0.4906146),
                (-0.9787684, 1.9161415, 0.0334540),
                (0.0719453, -0.2289914, 1.4052427),
            ),
            numbers,
        )
    elif space == "srgb-linear":
        linear = numbers
    else:  # srgb, display-p3, a98-rgb, prophoto-rgb, rec2020: near enough sRGB for a contrast
        return first * 255, second * 255, third * 255, alpha
    red, green, blue = (_gamma(value) * 255 for value in linear)
    return red, green, blue, alpha


def _channel(word: str, percent: float) -> float:
    """A number of a colour's (`none` is 0; a percentage of `percent`)."""
    if word.endswith("%"):
        return _number(word[:-1], 0.0) / 100 * percent
    return _number(word.removesuffix("deg"), 0.0)


def _lab_inverse(value: float) -> float:
    return value**3 if value**3 > 216 / 24389 else (116 * value - 16) / (24389 / 27)


def _times(matrix, vector) -> list[float]:
    return [sum(a * b for a, b in zip(row, vector, strict=True)) for row in matrix]


def _gamma(value: float) -> float:
    """A linear sRGB channel encoded, clamped to 0-1."""
    value = min(1.0, max(0.0, value))
    return 12.92 * value if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055


NUMBERS = (
    (10, re.compile("[0-9]+")),
    (16, re.compile("[0-9a-f]+")),
    (8, re.compile("[0-7]+")),
    (2, re.compile("[01]+")),
)
NUMBER_PREFIXES = re.compile(r"0x|\\x|\\u|u\+|&#x?|%")
PAST_UNICODE = "\U0010ffff"  # a number no character is: ends a run of numbers


def shown_in_text(text: str, secrets: dict[str, str]) -> str:
    """The label of the first of `secrets` (value -> label) that `text`, the text a page shows, shows
    once folded (_folded: white space, format characters and combining marks taken out, look-alike
    letters read as the Latin ones, case folded: spread over several elements, spaced out, in other
    letter case, in Cyrillic or Greek look-alikes, reversed as right-to-left marks draw it forwards);
    in any encoding the suite knows it in (base64, hex, base32: REDACTOR) once white space is taken
    out; or as the numbers of its bytes or characters, in decimal, hex, octal or binary; "" for none."""
    wanted = _Wanted(secrets)
    return (
        wanted.shown_folded(_folded(text), _folded(text, capital_i=True))
        or wanted.shown_encoded("".join(text.split()))
        or wanted.shown_as_numbers(_numbers(text))
    )


def near_secret(text: str, secrets: dict[str, str]) -> str:
    """The label of the first of `secrets` that `text` shows, folded, within a few edits (_Wanted.near)."""
    return _Wanted(secrets).near(_folded(text))


def _numbers(text: str) -> list[str]:
    """The numbers `text` shows, whatever is between them, as the characters they are the codes of, in
    decimal, hex (41, 0x41, \\x41, %41, &#x41; or a run of hex digit pairs), octal and binary (one string
    each); a number past Unicode as PAST_UNICODE."""
    bare = NUMBER_PREFIXES.sub(" ", text.casefold())
    read = []
    for base, digits in NUMBERS:
        characters = []
        for number in digits.findall(bare):
            pairs = [number]
            if base == 16 and len(number) > 2 and len(number) % 2 == 0:  # 486f73...: a run of bytes
                pairs = [number[i : i + 2] for i in range(0, len(number), 2)]
            for pair in pairs:
                value = int(pair, base) if len(pair) < 32 else 0x110000
                characters.append(chr(value) if value < 0x110000 else PAST_UNICODE)
        read.append("".join(characters))
    return read


class _Wanted:
    """The secrets looked for in a page's text, each read once: folded, and as the characters of its
    UTF-8 bytes and its own (what numbers shown stand for)."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.labels = secrets
        self.secrets = [
            (label, _folded(secret), _folded(secret, capital_i=True), ("".join(map(chr, secret.encode())), secret))
            for secret, label in secrets.items()
            if len(_folded(secret)) >= MIN_SECRET_LENGTH
        ]
        self.checked: dict[tuple[str, str], bool] = {}  # (secret, text around a piece of it): near it

    def shown_folded(self, folded: str, capitals: str) -> str:
        """In the text folded (_folded), or folded with its capital I read as l."""
        for label, wanted, capital, _ in self.secrets:
            if wanted in folded or wanted[::-1] in folded or capital in capitals or capital[::-1] in capitals:
                return label
        return ""

    def shown_encoded(self, joined: str) -> str:
        """In any encoding the suite knows a secret in (REDACTOR.scrub), `joined` having no white space."""
        scrubbed = REDACTOR.scrub(joined)
        if scrubbed != joined:
            for label in dict.fromkeys(self.labels.values()):
                if f"[{label}]" in scrubbed and f"[{label}]" not in joined:
                    return label
        return ""

    def shown_as_numbers(self, numbers: list[str]) -> str:
        for label, _, _, forms in self.secrets:
            if any(form in read for read in numbers for form in forms):
                return label
        return ""

    def near(self, folded: str) -> str:
        """The label of the first secret `folded` shows with no more than one edit per NEAR_EVERY of its
        letters (_edits): a letter changed to one outside ASCII (a look-alike LOOK_ALIKES does not know)
        or one put between two of its letters (a decoy the page hides in a way _visibility does not judge
        hidden). None of its letters left out, none changed to another ASCII one: a page's own words near
        a weak password (Password is … for Password1) are not it. A piece of the secret, one of as many as
        edits allowed and one more, is in the text as it is: each place it is is checked, once for each
        different text around it; past MAX_NEAR_CHECKS of them, the page is in doubt, as if it showed the
        secret. Secrets longer than MAX_NEAR_LENGTH (tokens) are not looked
        for near: no one reads one off a picture a letter wrong."""
        for label, wanted, _, _ in self.secrets:
            if len(wanted) > MAX_NEAR_LENGTH:
                continue
            edits = len(wanted) // NEAR_EVERY
            size = len(wanted) // (edits + 1)
            for piece in range(edits + 1):
                begin = piece * size
                part = wanted[begin : begin + size]
                at = folded.find(part)
                while at >= 0:
                    window = folded[max(0, at - begin - edits) : at + len(wanted) - begin + edits]
                    if (wanted, window) not in self.checked:
                        if len(self.checked) >= MAX_NEAR_CHECKS:
                            return label
                        self.checked[wanted, window] = _edits(wanted, window) <= edits
                    if self.checked[wanted, window]:
                        return label
                    at = folded.find(part, at + 1)
        return ""


def _edits(wanted: str, text: str) -> int:
    """The fewest letters of `wanted` changed to letters outside ASCII (look-alikes the suite does not
    know), or put between its letters, to make it a piece of `text` (Sellers' approximate matching,
    without deletions). A letter changed to another ASCII one is read as that other letter: a page's
    own words (Password is …) are not a password (Password1) a letter changed."""
    never = len(wanted) + len(text) + 1
    row = [0] * (len(text) + 1)  # wanted[:0] ends anywhere at no cost
    for i, letter in enumerate(wanted, 1):
        new = [never] * (len(text) + 1)
        for j, other in enumerate(text, 1):
            changed = 0 if letter == other else 1 if ord(other) > 127 else never
            new[j] = min(row[j - 1] + changed, new[j - 1] + 1 if i > 1 else never)
        row = new
    return min(row)


def _in_visual_order(boxes: list[tuple]) -> list[tuple]:
    """Text boxes ([x, y, width, height], text, ...) as a reader sees them: in rows, top to bottom, and
    in each row left to right. A box whose middle lies within the height of the row above joins it,
    so letters set a pixel or two apart in height read as one line."""
    rows: list[tuple[float, float, list]] = []
    for box in sorted(boxes, key=lambda box: (box[0][1], box[0][0])):
        _, y, _, height = box[0]
        middle = y + height / 2
        if rows and rows[-1][0] <= middle <= rows[-1][1]:
            top, bottom, members = rows[-1]
            members.append(box)
            rows[-1] = (top, max(bottom, y + height), members)
        else:
            rows.append((y, y + height, [box]))
    return [box for _, _, members in rows for box in sorted(members, key=lambda box: box[0][0])]


def _holding_secrets(devtools) -> set[int]:
    """Backend node ids of the elements holding a known secret: in an attribute, an input's value
    or a text node directly inside them."""
    strings, documents = _snapshot(devtools)
    holding = set()
    for document in documents:
        nodes = document["nodes"]
        parents, values, backend = nodes["parentIndex"], nodes["nodeValue"], nodes["backendNodeId"]
        attributes = nodes.get("attributes", [[] for _ in backend])
        rare = nodes.get("inputValue", {})
        inputs = dict(zip(rare.get("index", []), rare.get("value", []), strict=True))
        for index, node in enumerate(backend):
            texts = [strings[i] for i in attributes[index][1::2]] if index < len(attributes) else []
            if index in inputs:
                texts.append(strings[inputs[index]])
            is_text = nodes["nodeType"][index] == 3
            if values[index] >= 0 and is_text:
                texts.append(strings[values[index]])
            if any(REDACTOR.scrub(text) != text for text in texts):
                holding.add(backend[parents[index]] if is_text and parents[index] >= 0 else node)
    return holding


def _inside(index: int, parents: list[int], backend: list[int], holding: set[int]) -> bool:
    """Whether node `index` is, or is inside, an element holding a secret whole (masked)."""
    while index >= 0:
        if backend[index] in holding:
            return True
        index = parents[index]
    return False


def _marked(devtools) -> set[int]:
    strings, documents = _snapshot(devtools)
    marked = set()
    for document in documents:
        nodes = document["nodes"]
        for index, attributes in enumerate(nodes.get("attributes", [])):
            if MARK in (strings[i] for i in attributes[0::2]):
                marked.add(nodes["backendNodeId"][index])
    return marked
