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
so that it holds still and a page re-sending everything every 150 ms does not make the picture wait."""

import contextlib

from suite.secrets.redaction import MIN_SECRET_LENGTH, REDACTOR

MARK = "data-suite-secret"
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
    """The PNG of screenshot_without_secrets, or None and why there is none."""
    try:
        devtools = page.context.new_cdp_session(page)
    except Exception:
        return None, NOT_PICTURED
    try:
        devtools.send("Emulation.setScriptExecutionDisabled", {"value": True})
        devtools.send("DOM.getDocument", {"depth": 0})
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
        if not after <= _marked(devtools):
            return None, NOT_PICTURED
        shown = _shown_across_elements(devtools, after)
        if shown:
            return None, SHOWS_A_SECRET.format(what=shown)
        return bytes(png), ""
    except Exception:  # the page is gone, or changed under the snapshot: no picture rather than a secret
        return None, NOT_PICTURED
    finally:
        with contextlib.suppress(Exception):
            devtools.send("Emulation.setScriptExecutionDisabled", {"value": False})
        with contextlib.suppress(Exception):
            devtools.detach()


def _snapshot(devtools) -> tuple[list[str], list[dict]]:
    snapshot = devtools.send("DOMSnapshot.captureSnapshot", {"computedStyles": []})
    return snapshot["strings"], snapshot["documents"]


def _folded(text: str) -> str:
    return "".join(text.split()).casefold()


def _shown_across_elements(devtools, holding: set[int]) -> str:
    """The label of a known secret that the page's text shows, outside the elements holding one
    whole (masked), once white space is taken out and case folded; "" for none. Each frame's text is
    read in the order of its elements and in the order it is laid out (top to bottom, left to right:
    a stylesheet can show elements in another order than theirs), generated text (::before) too."""
    secrets = {
        folded: label
        for secret, label in REDACTOR.known().items()
        if len(folded := _folded(secret)) >= MIN_SECRET_LENGTH
    }
    if not secrets:
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
                laid_out.append((round(bounds[1]), bounds[0], strings[text][start : start + length]))
        on_screen = "".join(part for _, _, part in sorted(laid_out))
        for text in (_folded(in_order), _folded(on_screen)):
            for secret, label in secrets.items():
                if secret in text:
                    return label
    return ""


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
