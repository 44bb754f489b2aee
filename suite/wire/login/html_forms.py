"""The forms of an HTML page, read with the standard library's parser."""

from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


@dataclass
class Button:
    """A submit button of a form: `<button>` (submit unless its type says otherwise), `<input type=submit>`
    or `<input type=image>`, with where it sends the form instead of the form's action, if it says."""

    name: str | None
    value: str
    action: str | None = None  # its formaction, resolved as the browser resolves it
    method: str | None = None  # its formmethod


@dataclass
class Form:
    """A form of a page: `action` and `method` its own (the action resolved against the page's <base href>
    as a browser resolves it; the method GET, POST or DIALOG), which a submit button may override
    (`submitted_by`)."""

    action: str
    method: str
    fields: dict = field(default_factory=dict)  # hidden and text inputs with their values
    buttons: list[Button] = field(default_factory=list)  # its submit buttons, in tree order
    password_inputs: list = field(default_factory=list)  # names of type=password inputs

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def has_button(self, name: str, value: str) -> bool:
        return self.button(name, value) is not None

    def button(self, name: str, value: str) -> Button | None:
        return next((b for b in self.buttons if (b.name, b.value) == (name, value)), None)

    def submitted_by(self, button: Button | None) -> tuple[str, str]:
        """(method, action) of the form submitted by `button`, or by its default button (None): the first
        submit button that is the form's, in tree order, as a browser's implicit submission uses it."""
        button = button or (self.buttons[0] if self.buttons else None)
        return (button and button.method) or self.method, (button and button.action) or self.action


_METHODS = ("GET", "POST", "DIALOG")  # a method or formmethod of any other value is GET (HTML, "form submission")


class _FormParser(HTMLParser):
    """The forms of a page, each with the fields and buttons that are its own as the HTML parser makes
    them: a field's `form` attribute names the form it belongs to wherever it stands; a <form> tag inside
    an open form is ignored, as browsers ignore it. Actions are resolved once the page is read, against
    the first <base href> of the page wherever it stands, as a browser resolves them when it submits."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.base: str | None = None  # the first <base href>, as written
        self.forms: list[tuple[Form, dict]] = []  # each form with its attributes, in tree order
        self.elements: list[tuple[str | int | None, str, dict]] = []  # owner (form id or index), tag, attributes
        self._open: int | None = None  # the index of the form the parser is in

    def handle_starttag(self, tag, attrs) -> None:
        attrs = {name: value or "" for name, value in attrs}
        if tag == "base" and self.base is None and "href" in attrs:
            self.base = attrs["href"]
        elif tag == "form" and self._open is None:
            self._open = len(self.forms)
            self.forms.append((Form("", _method(attrs.get("method"))), attrs))
        elif tag in ("input", "button"):
            owner = attrs.get("form", self._open)
            self.elements.append((owner, tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None

    def close(self) -> None:
        super().close()
        base = browser_join(self.page_url, self.base) if self.base is not None else self.page_url
        if urlsplit(base).scheme in ("data", "javascript"):  # no base URL a browser takes
            base = self.page_url
        ids: dict[str, int] = {}
        for position, (form, attrs) in enumerate(self.forms):
            if attrs.get("id"):
                ids.setdefault(attrs["id"], position)
            form.action = _resolved(base, self.page_url, attrs.get("action"))
        for owner, tag, attrs in self.elements:
            index = ids.get(owner) if isinstance(owner, str) else owner
            if index is not None:
                _add(self.forms[index][0], tag, attrs, base, self.page_url)


def _method(value: str | None) -> str:
    method = (value or "").strip().upper()
    return method if method in _METHODS else "GET"


def _resolved(base: str, page_url: str, action: str | None) -> str:
    """A form's action as a browser submits to it: an empty one is the page's own URL, not the base's."""
    action = (action or "").strip(_C0_AND_SPACE)
    return browser_join(base, action) if action else page_url


_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def browser_join(base: str, reference: str) -> str:
    """`reference` resolved against `base` as a browser's URL parser resolves it (WHATWG URL), where it
    differs from urljoin's: C0 controls and spaces at its ends and tabs and newlines anywhere dropped,
    and in an http or https address a backslash before the query read as a slash (`\\\\other.example/`
    goes to another host, not to a path of the base's)."""
    reference = reference.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    try:
        scheme = urlsplit(reference).scheme if ":" in reference else ""
        if (scheme or urlsplit(base).scheme).lower() in ("http", "https"):
            cut = min((i for i in (reference.find("?"), reference.find("#")) if i >= 0), default=len(reference))
            reference = reference[:cut].replace("\\", "/") + reference[cut:]
        return urljoin(base, reference)
    except ValueError:  # no URL a parser reads (an unclosed IPv6 bracket): the credential policy refuses it
        return reference


def _add(form: Form, tag: str, attrs: dict, base: str, page_url: str) -> None:
    kind = (attrs.get("type") or ("submit" if tag == "button" else "text")).strip().lower()
    name = attrs.get("name") or None
    if tag == "button" and kind not in ("submit", "button", "reset"):
        kind = "submit"  # a button's invalid type is the submit state
    if kind == "submit" or (tag == "input" and kind == "image"):
        form.buttons.append(
            Button(
                name,
                attrs.get("value", ""),
                _resolved(base, page_url, attrs["formaction"]) if attrs.get("formaction", "").strip() else None,
                _method(attrs["formmethod"]) if "formmethod" in attrs else None,
            )
        )
    elif kind == "password":
        form.password_inputs.append(name or "(unnamed)")
        if name:
            form.fields[name] = attrs.get("value", "")
    elif name:
        form.fields[name] = attrs.get("value", "")


def forms_of(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    parser.close()
    return [form for form, _ in parser.forms]


class _ForwardFinder(HTMLParser):
    """Collects what could send a browser on without the user: form actions, meta refreshes, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[tuple[str, str]] = []  # (what, where to)
        self._in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self.targets.append(("a form posting to", attrs.get("action") or ""))
        elif tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.targets.append(("a meta refresh to", attrs.get("content") or ""))
        elif tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.targets.append(("a script from", attrs["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.targets.append(("a script mentioning", data))


def forwards_to(html: str, url: str, refresh: str = "") -> str | None:
    """How the page (and its Refresh header, `refresh`) would send the browser on to `url` (host and
    path), or None."""
    finder = _ForwardFinder()
    finder.feed(html or "")
    for what, target in [("a Refresh header to", refresh), *finder.targets]:
        if target and mentions(target, url):
            return f"{what} {url}"
    return None


def refresh_of(html: str, refresh: str = "") -> str:
    """What refresh the page asks for: its Refresh header (`refresh`), else its first meta refresh's
    content ("0;url=https://..."), else ""."""
    if refresh:
        return refresh
    finder = _ForwardFinder()
    finder.feed(html or "")
    return next((target for what, target in finder.targets if what == "a meta refresh to" and target), "")


def sends_on(html: str, refresh: str = "") -> bool:
    """Whether the page could send the browser on by itself or with a click: a form, a meta refresh, a
    script or a Refresh header. A page with none of them is where a browser stays."""
    finder = _ForwardFinder()
    finder.feed(html or "")
    return bool(refresh or finder.targets)


_UNSEEN = ("script", "style", "head", "title")  # elements whose text a page does not show


class _TextFinder(HTMLParser):
    """The text a reader sees on a page: no scripts, no styles, no markup."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _UNSEEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSEEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words.extend(data.split())


def page_text(html: str) -> str:
    """The page's visible text on one line (its words, each separated by one space)."""
    finder = _TextFinder()
    finder.feed(html or "")
    return " ".join(finder.words)


def mentions(text: str, url: str) -> bool:
    """Whether `text` (an address, a script) names `url`'s host and path, however it is escaped."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    # An address with a host is named by host and path (a script may write it scheme-relative, //host/path);
    # one without (a private-use scheme's com.example.app:/callback, RFC 8252 section 7.1) only with its
    # scheme: a bare path on a page (/javascript/jquery.js) is the page's own server's, never that URI
    named = f"{parts.netloc}{parts.path}" if parts.netloc else f"{parts.scheme}:{parts.path}"
    return unquote(named).lower() in unquote(text).replace("\\/", "/").lower()


POST_BUTTON = "send-authorization-request"  # the id of the form page's button


def post_form_page(endpoint: str, params: dict) -> str:
    """A page that sends an authorization request by POST, as a relying party's page does: the
    parameters as hidden fields of a form whose submission the browser serializes as
    application/x-www-form-urlencoded (OpenID Connect Core section 3.1.2.1, by Section 13.2). A
    button, no script: the suite's browser clicks it, a person presses it."""
    fields = "".join(
        f'<input type="hidden" name="{escape(str(name))}" value="{escape(str(value))}">'
        for name, value in params.items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization request by POST</title>'
        f'</head><body><form method="post" action="{escape(endpoint)}" enctype="application/x-www-form-urlencoded">'
        f'{fields}<button type="submit" id="{POST_BUTTON}">Send the authorization request (POST)</button>'
        "</form></body></html>"
    )
