"""Screenshots of a page without the secrets it shows: before the picture is taken, every element
whose text, value, title or any attribute holds a secret the suite knows (suite.secrets.redaction:
the password, client secrets, tokens, in any of their encodings) is masked, not only password
fields. What holds a secret is read from the browser's own snapshot of the page (DevTools
DOMSnapshot), which the page's scripts cannot fake; the elements are marked through DevTools and
masked by Playwright. A snapshot after the picture must find every secret still inside a masked
element, or no picture is given (a page that moved its secret meanwhile)."""

import contextlib

from suite.secrets.redaction import REDACTOR

MARK = "data-suite-secret"


def screenshot_without_secrets(page) -> bytes | None:
    """A PNG of the whole page with every element holding a known secret masked, or None when the
    page is gone or would not hold still."""
    try:
        devtools = page.context.new_cdp_session(page)
    except Exception:
        return None
    try:
        devtools.send("DOM.getDocument", {"depth": 0})
        holding = _holding_secrets(devtools)
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
        if not _holding_secrets(devtools) <= _marked(devtools):
            return None
        return bytes(png)
    except Exception:  # the page is gone, or changed under the snapshot: no picture rather than a secret
        return None
    finally:
        with contextlib.suppress(Exception):
            devtools.detach()


def _snapshot(devtools) -> tuple[list[str], list[dict]]:
    snapshot = devtools.send("DOMSnapshot.captureSnapshot", {"computedStyles": []})
    return snapshot["strings"], snapshot["documents"]


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


def _marked(devtools) -> set[int]:
    strings, documents = _snapshot(devtools)
    marked = set()
    for document in documents:
        nodes = document["nodes"]
        for index, attributes in enumerate(nodes.get("attributes", [])):
            if MARK in (strings[i] for i in attributes[0::2]):
                marked.add(nodes["backendNodeId"][index])
    return marked
