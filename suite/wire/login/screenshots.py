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

A page can also draw a secret as pixels, which no text search finds: on a <canvas>, in an <img> whose
source is an SVG, a background image, generated content (::before), a web font whose glyphs draw
other letters. The server knows its test user's password, so it can always do so: the picture is
taken with every channel that paints anything but the page's text in a standard font turned off (a
stylesheet of the suite's, put in by DevTools while the page's scripts are stopped: PICTURE_ONLY_TEXT),
and the browser's own computed styles are read back to prove it took effect; a page that kept one
(an inline `!important` of its own) gets no picture. The note beside the picture says what was hidden."""

import contextlib

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
  text-transform: none !important; cursor: auto !important;
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
}
PICTURED_AS_TEXT = (
    "pictured as text only: the page's {hidden} are hidden and its text is shown in a standard font, "
    "for a page can draw a secret as pixels no mask finds"
)
KEPT_PIXELS = (
    "no screenshot: the page keeps drawing pixels other than its text ({what}) against the suite's "
    "stylesheet, and may draw a secret with them"
)
NOT_PICTURED = "no screenshot: the page is gone, or it would not hold still while pictured"
SHOWS_A_SECRET = (
    "no screenshot: the page shows the {what} spread over several elements (or spaced out, or in other "
    "letter case), which no mask over one element would hide"
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
            return None, SHOWS_A_SECRET.format(what=shown)
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
            return None, SHOWS_A_SECRET.format(what=shown)
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


def _snapshot(devtools) -> tuple[list[str], list[dict]]:
    snapshot = devtools.send("DOMSnapshot.captureSnapshot", {"computedStyles": list(NEUTRAL)})
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


def _folded(text: str) -> str:
    return "".join(text.split()).casefold()


def _shown_across_elements(devtools, holding: set[int]) -> str:
    """The label of a known secret that the page's text shows, outside the elements holding one
    whole (masked), once white space is taken out and case folded; "" for none. Each frame's text is
    read in the order of its elements and in the order it is laid out (top to bottom, left to right:
    a stylesheet can show elements in another order than theirs), generated text (::before) too."""
    secrets = REDACTOR.known()
    if not any(len(_folded(secret)) >= MIN_SECRET_LENGTH for secret in secrets):
        return ""
    strings, documents = _snapshot(devtools)
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
        laid_out = []
        for box, bounds, start, length in zip(
            boxes.get("layoutIndex", []),
            boxes.get("bounds", []),
            boxes.get("start", []),
            boxes.get("length", []),
            strict=False,
        ):
            text = texts[box] if box < len(texts) else -1
            if text >= 0 and not masked(layout["nodeIndex"][box]):
                laid_out.append((bounds, strings[text][start : start + length]))
        on_screen = "".join(part for _, part in _in_visual_order(laid_out))
        shown = shown_in_text(in_order, secrets) or shown_in_text(on_screen, secrets)
        if shown:
            return shown
    return ""


def shown_in_text(text: str, secrets: dict[str, str]) -> str:
    """The label of the first of `secrets` (value -> label) that `text`, the text a page shows, shows
    once white space is taken out and case folded (spread over several elements, spaced out, in other
    letter case, reversed as right-to-left marks draw it forwards); "" for none."""
    folded = _folded(text)
    for secret, label in secrets.items():
        wanted = _folded(secret)
        if len(wanted) >= MIN_SECRET_LENGTH and (wanted in folded or wanted[::-1] in folded):
            return label
    return ""


def _in_visual_order(boxes: list[tuple[list[float], str]]) -> list[tuple[list[float], str]]:
    """Text boxes ([x, y, width, height], text) as a reader sees them: in rows, top to bottom, and
    in each row left to right. A box whose middle lies within the height of the row above joins it,
    so letters set a pixel or two apart in height read as one line."""
    rows: list[tuple[float, float, list]] = []
    for box in sorted(boxes, key=lambda box: (box[0][1], box[0][0])):
        _, y, _, height = box[0]
        middle = y + height / 2
        if rows and rows[-1][0] <= middle <= rows[-1][1]:
            top, bottom, members = rows[-1]
            rows[-1] = (top, max(bottom, y + height), [*members, box])
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
