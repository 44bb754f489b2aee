"""The secret scrubber on its own: a secret is masked in every encoding from the moment it is
learned, whether it is still pending or built into an automaton, from any thread."""

import itertools
import math
import secrets
import threading

from suite.secrets.redaction import MAX_PENDING, Redactor, encodings


def _leaks(redactor: Redactor, values: list[str], text_around: str = "") -> list[str]:
    """The encodings of `values` a scrub of a text holding all of them lets through."""
    forms = [form for value in values for form in sorted(encodings(value))]
    scrubbed = redactor.scrub(text_around.join(forms) + text_around)
    return [form for form in forms if form in scrubbed]


def test_every_encoding_is_masked_while_pending_once_built_and_in_a_long_text():
    redactor = Redactor()
    values = ["s3cr3t/" + secrets.token_urlsafe(24) + "+ø" for _ in range(3 * MAX_PENDING // 10)]
    for value in values[:5]:
        redactor.register(value, "secret")
    assert redactor._state[1] and not redactor._state[0]  # learning alone builds nothing
    assert not _leaks(redactor, values[:5], " ")
    for value in values[5:]:
        redactor.register(value, "secret")
    groups, pending = redactor._state
    assert groups and pending, "enough encodings to build some and leave others pending"
    assert not _leaks(redactor, values[:3] + values[-3:], " ")  # a short text: built and pending ones
    # A long text builds what is pending first; each encoding, between two runs of "x", is masked whole.
    forms = [form for value in values for form in encodings(value)]
    run = "x" * 200
    assert redactor.scrub(run + run.join(forms)) == run + run.join(["[secret]"] * len(forms))
    groups, pending = redactor._state
    assert not pending
    sizes = [len(group.words) for group in groups]
    assert all(size >= 2 * smaller for size, smaller in itertools.pairwise(sizes)), sizes
    assert len(groups) <= math.log2(sum(sizes)) + 1


def test_a_secret_learned_in_one_thread_is_masked_at_once_while_others_learn_and_scrub():
    redactor = Redactor()
    leaks = []

    def learn_and_scrub():
        for _ in range(400):
            value = secrets.token_urlsafe(32)
            redactor.register(value, "token")
            leaks.extend(_leaks(redactor, [value], " and "))

    threads = [threading.Thread(target=learn_and_scrub) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not leaks, leaks[:3]
    assert redactor._state[0], "the scrubs built groups while other threads learned"


def test_a_secret_is_masked_as_a_server_that_form_decodes_it_echoes_it():
    """A raw secret with "+" or "%41" that a server form-decodes (RFC 6749 section 2.3.1) comes back
    with a space or an "A": that form is the secret too."""
    redactor = Redactor()
    secret = "Svc/Secret+7f3a+9c1e%41" + secrets.token_urlsafe(8)
    redactor.register(secret, "secret")
    echoed = f'{{"error": "invalid_client", "client_secret": "{secret.replace("+", " ").replace("%41", "A")}"}}'
    assert "Svc/Secret" not in redactor.scrub(echoed)
    assert "Svc/Secret" not in redactor.scrub(echoed.replace(" ", "%20"))
