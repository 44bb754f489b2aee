"""Keeps secrets out of everything the suite writes: reports, logs, the terminal, JUnit XML.

Two layers: exchanges are redacted field by field (headers, form and JSON fields, query
parameters that are secret by name), and every text leaving the suite is scrubbed of every
secret value it has seen (the environment's secrets and each token, code and verifier the
scenarios handled), so that a secret echoed in an odd place is still caught.
"""

import logging
import re
import threading

# Names of fields, parameters and headers whose values are secret wherever they appear.
SECRET_FIELDS = frozenset({
    "client_secret", "password", "access_token", "refresh_token", "id_token", "code",
    "code_verifier", "token", "client_assertion", "authorization", "cookie", "set-cookie",
})
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


class Redactor:
    def __init__(self):
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._pattern = None

    def register(self, value, label: str) -> None:
        """From now on, `value` is shown as [label] wherever it appears."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                self._values[value] = label
                self._pattern = None

    def mask(self, name: str) -> str:
        return f"[{name.lower()} redacted]"

    def scrub(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            if not self._values:
                return text
            if self._pattern is None:
                ordered = sorted(self._values, key=len, reverse=True)  # longest first: tokens contain no shorter secret
                self._pattern = re.compile("|".join(map(re.escape, ordered)))
            pattern, values = self._pattern, dict(self._values)
        return pattern.sub(lambda m: f"[{values[m.group(0)]}]", text)

    def fields(self, pairs: dict) -> dict:
        """A copy of a mapping (form, JSON, headers, query) with secret fields masked."""
        return {k: self.mask(k) if k.lower() in SECRET_FIELDS and v else v for k, v in pairs.items()}


REDACTOR = Redactor()


def scrub_all_logging() -> None:
    """Every log record made in this process, by any library, is scrubbed as it is created."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_secrets", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        record.msg, record.args = REDACTOR.scrub(message), None
        return record

    factory.scrubs_secrets = True
    logging.setLogRecordFactory(factory)
