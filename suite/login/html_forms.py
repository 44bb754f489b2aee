"""The forms of an HTML page, read with the standard library's parser."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)     # hidden and text inputs with their values
    buttons: list = field(default_factory=list)    # (name, value) of submit buttons

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def has_button(self, name: str, value: str) -> bool:
        return (name, value) in self.buttons


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self._current = page_url, [], None

    def handle_starttag(self, tag, attrs):
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
            elif name:
                self._current.fields[name] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_of(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms
