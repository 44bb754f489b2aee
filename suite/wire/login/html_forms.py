"""The forms of an HTML page, read with the standard library's parser."""

from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)  # hidden and text inputs with their values
    buttons: list = field(default_factory=list)  # (name, value) of submit buttons
    password_inputs: list = field(default_factory=list)  # names of type=password inputs

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def has_button(self, name: str, value: str) -> bool:
        return (name, value) in self.buttons


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form":
            action = urljoin(self.page_url, attrs.get("action") or self.page_url)
            self._current = Form(action, (attrs.get("method") or "get").upper())
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button"):
            kind = (attrs.get("type") or ("submit" if tag == "button" else "text")).lower()
            name = attrs.get("name")
            if kind == "submit":
                self._current.buttons.append((name, attrs.get("value", "")))
            elif kind == "password":
                self._current.password_inputs.append(name or "(unnamed)")
                if name:
                    self._current.fields[name] = attrs.get("value", "")
            elif name:
                self._current.fields[name] = attrs.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms


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
    return unquote(f"{parts.netloc}{parts.path}").lower() in unquote(text).replace("\\/", "/").lower()


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
