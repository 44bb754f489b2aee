"""The scrubber's shortcuts (suite.secrets.redaction) find what the long way finds: the UTF-7 runs found from each +
are those the pattern's finditer finds, and a text scrubbed again is what a scrub that had never seen it makes of
it, whatever was learned or built in between."""

import random
import secrets

from suite.secrets import redaction
from suite.secrets.redaction import Redactor, encodings


def test_the_utf7_runs_found_from_each_plus_are_those_the_pattern_finds():
    """Texts of every arrangement of +, newlines, UTF-7's base64 and other characters, with runs longer and
    shorter than the pattern's 64 characters either side of a +."""
    rng = random.Random(27)
    alphabets = ("+\nab", "+a", "+\n" + "x" * 5, "+\nA/0-", "+" + "y" * 40, "+\n+é")
    for _ in range(20_000):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choices(alphabet, weights=[rng.random() for _ in alphabet], k=rng.randint(0, 400)))
        found = [(match.span(), match.group()) for match in redaction._utf7_runs(text)]
        assert found == [(match.span(), match.group()) for match in redaction._UTF7_RUN.finditer(text)], text


def _texts(values: list[str]) -> list[str]:
    """Texts holding some of `values` in some of their forms (every form of the first), and none."""
    forms = sorted(encodings(values[0]))
    return [
        " and ".join(forms),
        f"Authorization: Bearer {values[-1]}; state=xyz+abc",
        "nothing secret here: +ADw-script+AD4- 0x41, 0x42, 0x43, 0x44, 0x45, 0x46",
        f'{{"refresh_token": "{values[len(values) // 2]}"}}',
    ]


def test_a_text_scrubbed_again_is_what_a_fresh_scrub_makes_of_it_though_secrets_are_learned_between(monkeypatch):
    values = [secrets.token_urlsafe(32) for _ in range(6)] + ["Pw-7Zq!x%20é\"'"]
    redactor = Redactor()
    scrubs = []
    scrub_secrets = redactor._scrub_secrets
    monkeypatch.setattr(redactor, "_scrub_secrets", lambda text: scrubs.append(text) or scrub_secrets(text))
    for learned in range(1, len(values) + 1):
        redactor.register(values[learned - 1], f"secret {learned}")
        fresh = Redactor()
        for i, value in enumerate(values[:learned]):
            fresh.register(value, f"secret {i + 1}")
        for text in _texts(values) * 2:  # each twice: the second time from what the first scrub kept
            assert redactor.scrub(text) == fresh.scrub(text)
    texts = _texts(values)
    del scrubs[:]
    assert [redactor.scrub(text) for text in texts] == [fresh.scrub(text) for text in texts]
    assert len(scrubs) == 0, f"{len(scrubs)} texts scrubbed again, though nothing was learned or built since"
