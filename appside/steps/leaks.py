"""Where an application's tokens and client secret must not turn up: in URLs (any request the
stand-in or the browser saw), in what a web application sends the browser, in the
application's output (a launched application's stdout and stderr, a service command's output, the
browser console of its pages), and in what its browser sends to an origin other than the stand-in's
and its own (held there: appside.browser_guard).

Each is looked for in every encoding it may be written in (suite.secrets.redaction.encodings, in
the text and in the text with its URL, JSON and HTML escapes decoded),
and what is reported of a leak is scrubbed of it: the evidence of a leak is no leak itself."""

import contextlib
import functools
import re
import time
from html.parser import HTMLParser
from urllib.parse import unquote, unquote_plus, urlsplit

import ahocorasick
import allure
import pytest
from pytest_bdd import given, then

from appside.concurrent import USED_THEN_API
from appside.observed import Observed, learn_secrets
from appside.output_file import read_from
from appside.record import UNCHECKED
from appside.service_driver import ServiceRun
from appside.session_cookies import chunked_cookies, readings, signed_format
from appside.steps.plain_http import no_plain_http
from appside.steps.service import service_run
from appside.steps.sign_ins import (
    AppRun,
    every_flow_made,
    no_evidence,
    normal_sign_ins,
    nothing_to_judge,
    observe_session_once,
    skip_unless_a_sign_in_started,
    skip_unless_the_api_was_called,
    skip_unless_type,
)
from sandbox.mock_api import API_PREFIX
from suite.secrets.literals import unescaped
from suite.secrets.redaction import REDACTOR, blobs_masked, decoded, encodings, excerpt, said, unpacked
from suite.verdict.checks import check, require, skip_for_missing_application_data
from suite.wire.login.screenshots import shown_in_text

OUTPUT_LINES_ATTACHED = 200
# a leak's evidence: the head of its line (suite.secrets.redaction.excerpt's), or where the masked credential lies
# beyond it, AROUND_THE_LEAK characters either side of the mask the scrubber put in its place ("[access_token]")
EXCERPT, AROUND_THE_LEAK = 200, 100
# what else the scrubber masks, which APPC-28 does not look for: the window goes around a credential's mask
NO_CREDENTIAL_MARKS = {"[code]", "[authorization code]", "[code_verifier]", "[id_token]"}
MASK_MARK = re.compile(r"\[[^\[\]\n]{1,120}\]")
# A line at least this long may be one a logger wrapped at its width (80, 120 and up): its end and the next
# line's start are read together, WRAP_READ characters of each (longer than any encoding of a token)
WRAPPED_WIDTH, WRAP_READ = 60, 8192
# A secret shorter than this is not looked for: "secret" or "test1234" would be found in ordinary text
MIN_LEAK_LENGTH = 8


@functools.lru_cache(maxsize=64)  # the same few secrets, looked for in many texts
def _finder(secrets: tuple[tuple[str, str], ...]) -> ahocorasick.Automaton | None:
    """One automaton over every encoding of every secret (value, name): a text is read once whatever the
    number of secrets and encodings (an output of millions of lines was searched for each encoding of each
    secret in each line, for minutes)."""
    automaton = ahocorasick.Automaton()
    for value, name in secrets:
        if len(value) >= MIN_LEAK_LENGTH:
            for form in encodings(value):
                automaton.add_word(form, name)
    if not len(automaton):
        return None
    automaton.make_automaton()
    return automaton


def use_as_a_user_would(config, application, stand_in, app_run) -> None:
    """The two normal sign-ins of an interactive application, or one run of a service (each done
    once per run of the suite), kept in `app_run` and attached to the report; and, where
    drive.use_api_url is set, a sign-in followed by the application's use of the Visma API (an
    application may call the API only when a page needs it, not at sign-in)."""
    runs = normal_sign_ins(config, stand_in) if application.is_interactive else [service_run(config, stand_in)]
    for number, (result, observed) in enumerate(runs, 1):
        app_run.sign_ins.append(result)
        app_run.observed.append(observed)
        observed.attach(f"normal use {number}")
    if application.is_interactive and application.drive.use_api_url:
        observe_session_once(
            config,
            stand_in,
            app_run,
            lambda session: [session.sign_in(), session.open(application.drive.use_api_url)],
            USED_THEN_API,
        )


@given("the application has been used as a user would, and what it showed and sent was kept")
def used_and_watched(request, application, stand_in, app_run):
    use_as_a_user_would(request.config, application, stand_in, app_run)


def flows_of_the_run(app_run) -> list[tuple[str, list, list]]:
    """(title, sign-ins, what the stand-in saw) of every sign-in (or service run) the run made so far, each
    once: the flows made at once (the normal sign-ins, the refused and faulty ones, the waits for an access
    token's expiry and its refresh) and those made one at a time for a step (appside.steps.sign_ins.every_flow_made),
    then what the scenario itself made that none of them holds ("normal use"). A token the stand-in issued in a
    refused sign-in is a real token, and a refresh after an expiry a request like any other: a leak rule that
    read only the normal sign-ins passed an application that logged the tokens of a sign-in it refused."""
    flows: list[tuple[str, list, list]] = []
    seen_sign_ins: set[int] = set()
    seen_observed: set[int] = set()
    made = [flow for title, sign_ins, observed in every_flow_made() for flow in _each_run(title, sign_ins, observed)]
    for title, sign_ins, observed in [*made, ("normal use", app_run.sign_ins, app_run.observed)]:
        own_sign_ins = [s for s in sign_ins if id(s) not in seen_sign_ins]
        own_observed = [o for o in observed if id(o) not in seen_observed]
        seen_sign_ins.update(map(id, own_sign_ins))
        seen_observed.update(map(id, own_observed))
        if own_sign_ins or own_observed:
            flows.append((title, own_sign_ins, own_observed))
    return flows


def _each_run(title: str, sign_ins: list, observed: Observed) -> list[tuple[str, list, list]]:
    """A flow of several runs of a service (the runs around an access token's expiry, the first of them perhaps
    its normal run) as one flow per run, its requests those that came from its start to the next run's, so that a
    failure names the run it was found in ("..., run 1 of 2"), not the flow, true of the last run only."""
    runs = [run for run in sign_ins if isinstance(run, ServiceRun)]
    if len(runs) < 2 or len(runs) != len(sign_ins):
        return [(title, sign_ins, [observed])]
    ends = [run.started for run in runs[1:]] + [float("inf")]
    starts = [float("-inf"), *ends[:-1]]
    return [
        (
            f"{title}, run {number} of {len(runs)}",
            [run],
            [Observed([e for e in observed.entries if start <= e.at < end], observed.issuer)],
        )
        for number, (run, start, end) in enumerate(zip(runs, starts, ends, strict=True), 1)
    ]


def in_flow(application, title: str) -> str:
    """How a failure names the sign-in (a service's run) a leak was found in, as APPC-27's does."""
    return f"in the {'sign-in' if application.is_interactive else 'run'} {title!r}"


def tokens_issued_in(flows) -> dict[str, tuple[str, str]]:
    """value -> (what it is, the title of the flow the stand-in issued it in), for every flow of `flows`."""
    issued: dict[str, tuple[str, str]] = {}
    for title, _, observed in flows:
        for value, name in issued_tokens(AppRun(observed=observed)).items():
            issued.setdefault(value, (name, title))
    return issued


def issued_tokens(app_run) -> dict[str, str]:
    """value -> what it is: the access and refresh tokens the stand-in issued in these runs. ID tokens
    are left out: they are for the client and about the user, no credential for the API, and an
    OpenID logout sends one in a URL (id_token_hint) by design."""
    tokens = {}
    for observed in app_run.observed:
        learn_secrets(observed.entries)  # so that every report of a leak masks them
        for request in observed.token_requests:
            answer = (request.response_json or {}) if request.status == 200 else {}
            for name in ("access_token", "refresh_token"):
                if isinstance(answer.get(name), str):
                    tokens[answer[name]] = name.replace("_", " ")
    return tokens


def credentials(application, app_run) -> dict[str, str]:
    found = issued_tokens(app_run)
    if application.client_secret:
        found[application.client_secret] = "client secret"
    return found


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    """What of `secrets` (value -> name) `text` carries, in any encoding: its escapes decoded too
    (URL, JSON, HTML), as the scrubber reads it, its string literals' escapes as the languages that print
    them read them (Perl's \\x{e9}, \\N{U+E9}, \\U000020ac, &#233;: suite.secrets.literals), and what its
    base64 blobs hold, forward or reversed, gzip or zlib inflated, two layers deep
    (suite.secrets.redaction.unpacked)."""
    finder = _finder(tuple(sorted(secrets.items())))
    if finder is None or not text:
        return []
    texts = (*decoded(text), *unescaped(text), *unpacked(text))
    return sorted({name for t in texts for _, name in finder.iter(t)})


def _in_url(url: str, secrets: dict[str, str]) -> list[str]:
    return leaked("\n".join((url, unquote(url), unquote_plus(url))), secrets)


@then("no access or refresh token appears in a URL")
def tokens_not_in_urls(application, app_run):
    """Every request and page of every sign-in the run made (the refused ones, the refresh after an expiry), read
    for every token the stand-in issued in any of them; the failure names the sign-in it was found in."""
    flows = flows_of_the_run(app_run)
    tokens = {value: name for value, (name, _) in tokens_issued_in(flows).items()}
    for title, sign_ins, every_observed in flows:
        where = in_flow(application, title)
        for observed in every_observed:
            for request in observed.entries:
                for name in _in_url("&".join(f"{k}={v}" for k, v in request.query), tokens):
                    check(
                        False,
                        f"the {name} was sent in the URL of {request.method} {request.path} (the stand-in received "
                        f"it), {where}: URLs end up in logs, browser histories and Referer headers",
                    )
        for sign_in in sign_ins:
            for url in getattr(sign_in, "urls", None) or ():
                for name in _in_url(url, tokens):
                    check(False, f"the {name} was in the URL of a request the browser made, {where}: {_shown(url)}")
            # RFC 6750 section 5.3 names "page URLs": a #fragment or a history.replaceState reaches no
            # server, yet stays in the address bar, the history, bookmarks and what the page's scripts read
            for url in getattr(sign_in, "page_urls", None) or ():
                for name in _in_url(url, tokens):
                    check(
                        False,
                        f"the {name} was in the address of a page the browser showed (its history and address bar, "
                        f"though no server received it), {where}: {_shown(url)}",
                    )
    if not issued_tokens(app_run):  # the normal use issued none: what broke it is the cause (as before)
        skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
        nothing_to_judge(
            application, app_run, "the stand-in issued no token in these runs, so none could be put in a URL"
        )
    # a token goes into a URL above all where it is used: the calls to the Visma API (RFC 6750 section 2.3's
    # access_token query parameter, which RFC 9700 section 4.3.2 forbids); the addresses the browser showed
    # judge the rest of the sentence only, so a run that made no such call passes nothing
    skip_unless_the_api_was_called(
        application, app_run, app_run.observed, "whether it puts its access token in the URL of its API calls"
    )


@then("no client secret, access or refresh token appears in what the application sent the browser")
def nothing_secret_in_pages(application, app_run):
    """Every page of every sign-in the run made (the refused and faulty ones too: an error page is a page),
    each named by its sign-in and its URL where a credential is found."""
    skip_unless_type(application, "web")
    if any(getattr(s, "contents", None) is None for s in app_run.sign_ins):
        skip_for_missing_application_data(
            "drive.mode",
            "the suite does not see the application's pages when a person drives the browser (manual mode); a web "
            "application's browser is one the suite can drive: drive.mode: browser, with drive.signed_in",
        )
    flows = [("normal use", app_run.sign_ins), *((title, sign_ins) for title, sign_ins, _ in every_flow_made())]
    every_observed = app_run.observed + [observed for _, _, observed in every_flow_made()]
    secrets = credentials(application, AppRun(observed=every_observed))
    seen: set[tuple[str, str]] = set()  # the normal sign-ins are among the flows made at once too
    for title, sign_ins in flows:
        for sign_in in sign_ins:
            for url, text, part in getattr(sign_in, "contents", None) or ():
                if (url, text) in seen:
                    continue
                seen.add((url, text))
                _judge_page(title, url, text, part, secrets)
    for sign_in in app_run.sign_ins:
        cookies = getattr(sign_in, "cookies", None) or []
        # each cookie alone first: a credential in one is named by that cookie, not by a set it is a chunk of
        for cookie, value in [*cookies, *chunked_cookies(cookies)]:
            plain = _as_it_is(value, secrets)
            names = leaked("\n".join(readings(value)), secrets)  # every one the cookie carries, in one message
            if names:
                check(
                    False,
                    f"the application put its {' and its '.join(names)} in the browser's cookie {_shown(cookie)}, "
                    + _readable(all(name in plain for name in names), signed_format(value))
                    + ": a web application keeps its secret and its tokens on its server (RFC 6749 section 2.1: "
                    '"not exposed to or accessible by the resource owner")',
                )
    _tokens_in_browser_urls(application, flows, secrets)
    _tokens_were_issued(application, app_run)


def _tokens_in_browser_urls(application, flows, secrets: dict[str, str]) -> None:
    """A token the browser received in an address (a redirect's Location to /invoices?access_token=..., a page URL)
    was sent to the browser, which RFC 6749 section 2.1 forbids, only because it was put in a URL: one cause, APPC-26's
    failure. So APPC-27 is blocked by APPC-26 (`needs`), neither passed over it nor failed a second time."""
    tokens = {value: name for value, name in secrets.items() if name != "client secret"}
    for title, sign_ins in flows:
        for sign_in in sign_ins:
            for url in [*(getattr(sign_in, "urls", None) or ()), *(getattr(sign_in, "page_urls", None) or ())]:
                if names := _in_url(url, tokens):
                    require(
                        False,
                        f"the application sent the browser its {' and its '.join(names)} in a URL, "
                        f"{in_flow(application, title)}: {_shown(url)}; a token put in a URL is APPC-26's failure",
                    )


# where each credential may go besides the client itself, as APPC-32's failure says it
_MAY_GO = {
    "access token": "an access token goes only to the authorization server, the resource servers it is valid for "
    "and the client (RFC 6749 section 10.3)",
    "refresh token": "a refresh token goes only to the authorization server and the client (RFC 6749 section 10.4)",
    "client secret": "the client secret goes only to the authorization server (RFC 6749 section 10.1: the client "
    "MUST ensure its confidentiality)",
}


def _each(names: list[str]) -> str:
    """Every credential found, named: "access token and refresh token", "client secret, access token and ..."."""
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def _may_go(names: list[str]) -> str:
    return "; ".join(_MAY_GO[name] for name in names)


@then(
    "no client secret, access or refresh token is sent to an origin other than the stand-in's and the application's own"
)
def credentials_only_where_they_may_go(application, app_run):
    """Every request the browser held on its way elsewhere (appside.browser_guard), in every sign-in the run made,
    read for the credentials; one carrying none passes, listed in its sign-in's attachment."""
    skip_unless_type(application, "spa", "web")
    if any(getattr(s, "sent_elsewhere", None) is None for s in app_run.sign_ins):
        skip_for_missing_application_data(
            "drive.mode",
            "the suite does not see where the application's pages send their requests when a person drives the "
            "browser (manual mode); drive.mode: browser, with drive.signed_in, lets the suite drive it",
        )
    # the flows made at once first: a request is named by the flow that made it (the normal sign-ins are among them)
    flows = [*((title, sign_ins) for title, sign_ins, _ in every_flow_made()), ("normal use", app_run.sign_ins)]
    every_observed = app_run.observed + [observed for _, _, observed in every_flow_made()]
    secrets = credentials(application, AppRun(observed=every_observed))
    seen: set = set()  # the normal sign-ins are among the flows made at once too
    for title, sign_ins in flows:
        for sign_in in sign_ins:
            for sent in getattr(sign_in, "sent_elsewhere", None) or ():
                if sent in seen:
                    continue
                seen.add(sent)
                for where, text in sent.parts():
                    names = leaked(text, secrets)
                    origin = "{0.scheme}://{0.netloc}".format(urlsplit(sent.url))
                    if names:
                        check(
                            False,
                            (
                                f"the application sent its {_each(names)} to {origin}, in {where} of {sent.named}, "
                                f"in the sign-in {title!r} (the suite's browser held it: it never left), neither the "
                                f"stand-in's origin nor the application's own: {_may_go(names)}"
                            ),
                        )
    # where no token request came over HTTPS, the plaintext ones broke the sign-ins: APPC-10's failure blocks this one
    no_plain_http(every_observed, check if any(o.token_requests for o in every_observed) else require)
    # the stand-in's resource servers (the Visma API, the userinfo endpoint) are where an access token goes,
    # never a refresh token nor the client secret, which go only to the authorization server
    for entry in {
        id(e): e for observed in every_observed for e in observed.api_calls + observed.userinfo_calls
    }.values():
        parts = [("its URL", "&".join(f"{k}={v}" for k, v in entry.query)), ("its body", entry.body)]
        parts += [(f"its {name} header", value) for name, value in entry.headers.items()]
        for where, text in parts:
            names = leaked(text, {v: n for v, n in secrets.items() if n != "access token"})
            if names:
                check(
                    False,
                    (
                        f"the application sent its {_each(names)} to a resource server, the stand-in's "
                        f"{'Visma API' if entry.path.startswith(API_PREFIX + '/') else 'userinfo endpoint'}, in "
                        f"{where} of {entry.method} {_shown(entry.path)}: {_may_go(names)}"
                    ),
                )
    _tokens_were_issued(application, app_run)
    # the resource servers' half of the sentence (no refresh token, no secret there) is judged on their calls only
    skip_unless_the_api_was_called(
        application,
        app_run,
        every_observed,
        "whether the calls to its resource servers carry its refresh token or its client secret",
    )


def _as_it_is(value: str, secrets: dict[str, str]) -> set[str]:
    """The names of the secrets a cookie's value carries as they are (URL-decoded at most): in plain
    text. One found only in an encoding of it (base64 at the right offset inside a base64 value) was
    read once decoded, which the message says."""
    texts = (value, unquote(value), unquote_plus(value))
    return {
        name for secret, name in secrets.items() if len(secret) >= MIN_LEAK_LENGTH and any(secret in t for t in texts)
    }


def _judge_page(title: str, url: str, text: str, part: str, secrets: dict[str, str]) -> None:
    """A credential in what the browser received, in any encoding; and, in a page, one its text shows spread
    over several elements, spaced out or in other letter case, as the screenshot guard finds it
    (suite.wire.login.screenshots.shown_in_text)."""
    where = f"{_served(part, url)}, in the sign-in {title!r}"
    names = leaked(text, secrets)
    if names:
        check(
            False,
            (
                f"the application sent its {_each(names)} to the browser, in {where}: a web application keeps its "
                "secret and its tokens on its server"
            ),
        )
    if part in ("page", "dom"):
        name = shown_in_text(page_text(text), secrets)
        check(
            not name,
            f"the application's page shows its {name} spread over several elements (or spaced out, or in other "
            f"letter case), in {where}: a web application keeps its secret and its tokens on its server",
        )


class _PageText(HTMLParser):
    """The text of an HTML document, its text nodes in the order of its elements (a <title>, a <script> too),
    as the screenshot guard reads a page's text nodes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(html: str) -> str:
    parser = _PageText()
    with contextlib.suppress(Exception):  # whatever the page is, its text so far
        parser.feed(html)
        parser.close()
    return "".join(parser.parts)


def _readable(plain: bool, signed: str) -> str:
    """How the browser's holder reads a cookie's credential: as it is, or decoded; "signed, not
    encrypted", with the format named, only for a value the suite decoded from a signed format."""
    if plain:
        return "in plain text"
    if signed.startswith(("a JWT", "an unsigned JWT")):
        return f"readable once decoded ({signed}, not encrypted)"
    if signed:
        return f"readable once decoded ({signed}: signed, not encrypted)"
    return "readable once decoded (an encoding, not encryption)"


# The labels the run's credentials are learned under (appside/observed.py, appside/conftest.py), as APPC-28 names them
_CREDENTIAL_LABELS = {
    "access_token": "access token",
    "refresh_token": "refresh token",
    "application.client_secret": "client secret",
}


class LeftOutWatch:
    """Finds the client secret and the tokens issued so far in what a launched application printed that the
    suite does not keep (appside.launcher.KeptOutput): read once as it goes, with the secrets known then (a
    token is issued before the application can print it). The secrets are looked up again at most once a
    second: each new set builds its automaton."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._looked_up = 0.0

    def __call__(self, text: str) -> list[str]:
        if time.monotonic() - self._looked_up > 1:
            self._looked_up = time.monotonic()
            known = REDACTOR.known()
            self._secrets = {v: _CREDENTIAL_LABELS[label] for v, label in known.items() if label in _CREDENTIAL_LABELS}
        return leaked(text, self._secrets)


@then("no client secret, access or refresh token appears in the application's output")
def nothing_secret_in_output(request, application, app_run):
    """Every sign-in (or service run) the run made, the refused ones and the refresh after an expiry too, read for
    the secret and every token the stand-in issued in any of them: a token a refused sign-in was issued and the
    application logged is a real token (RFC 6749 sections 10.3 and 10.4)."""
    flows = flows_of_the_run(app_run)
    outputs = [
        (
            f"the output of `{application.drive.command or application.drive.url}`, {in_flow(application, title)}",
            run.output,
        )
        for title, sign_ins, _ in flows
        for run in sign_ins
        if hasattr(run, "output")
    ]
    launched = getattr(request.config, "launched", None)
    if launched is not None:
        outputs.append(("the launched application's output (drive.launch)", launched.output()))
        for name in sorted(launched.found_left_out()):
            check(
                False,
                f"the application wrote its {name} to its output (drive.launch), in the part the suite read and "
                "did not keep (between its first and last megabytes: application.log says how many bytes)",
            )
    # the browser console of its pages: a single-page application's log (error-reporting tools collect it)
    consoles = [
        (f"the browser console of its pages, {in_flow(application, title)}", "\n".join(run.console))
        for title, sign_ins, _ in flows
        for run in sign_ins
        if getattr(run, "console", None) is not None
    ]
    if application.app_type == "spa":  # its server only serves files: the console is where it logs
        outputs, consoles = outputs + consoles, []
    if application.drive.output_file:
        written, kind = read_from(application.drive.output_file, getattr(request.config, "output_file_start", 0))
        if kind and not outputs:
            pytest.skip(
                f"{UNCHECKED}: drive.output_file ({application.drive.output_file}) is {kind} since the run started, "
                "not a regular file: the suite did not read it"
            )
        if not written and not outputs:
            pytest.skip(
                f"{UNCHECKED}: the application wrote nothing to drive.output_file ({application.drive.output_file}) "
                "during the run, so the suite saw none of its output"
            )
        outputs.append((f"drive.output_file ({application.drive.output_file})", written))
    if not outputs:
        skip_for_missing_application_data(
            "drive.output_file",
            "the suite sees no output of the application: it neither launched it (drive.launch) nor ran its command; "
            "name the file its output goes to (drive.output_file: its log, or in manual mode the file the person's "
            "terminal writes it to, e.g. `my-app login 2>&1 | tee -a FILE`), or let the suite start a "
            "long-running application (drive.launch)",
        )
    issued = tokens_issued_in(flows)
    secrets = {value: name for value, (name, _) in issued.items()}
    if application.client_secret:
        secrets[application.client_secret] = "client secret"
    in_urls = _leaking_request_targets(flows, secrets)
    for where, text in outputs + consoles:
        if text or where == outputs[0][0]:  # every flow's console read, the empty ones not attached
            allure.attach(
                said(blobs_masked("\n".join(text.splitlines()[-OUTPUT_LINES_ATTACHED:]))),  # control characters visible
                name=f"{where}, last {OUTPUT_LINES_ATTACHED} lines, secrets masked",
                attachment_type=allure.attachment_type.TEXT,
            )
        # every credential the output carries, each with the first line that showed it (a Perl Data::Dumper of a
        # token object prints its client secret a few lines before its access token)
        first_seen: dict[str, str] = {}
        previous, found_before = "", set[str]()
        for number, line in enumerate(text.splitlines(), 1):
            if any(target in line for target in in_urls):
                previous = ""
                continue  # a web server's access log of a URL that leaks: APPC-26 or APPC-11 names the cause
            found = set(leaked(line, secrets))
            for name in sorted(found - first_seen.keys()):
                first_seen[name] = f"line {number}{_issued_where(line, issued, application)}: {_shown(line)}"
            # a logger that wraps long lines at a width cuts a token in two: the end of a long line and the start
            # of the next are read as one
            if len(previous) >= WRAPPED_WIDTH:
                joined = previous[-WRAP_READ:] + line[:WRAP_READ]
                for name in sorted(set(leaked(joined, secrets)) - found_before - found - first_seen.keys()):
                    first_seen[name] = (
                        f"across lines {number - 1} and {number} (a long line wrapped)"
                        f"{_issued_where(joined, issued, application)}: {_shown(joined)}"
                    )
            previous, found_before = line, found
        if first_seen:
            evidence = "; ".join(dict.fromkeys(first_seen.values()))
            check(False, f"the application wrote its {_each(list(first_seen))} to {where}, {evidence}")
    _tokens_were_issued(application, app_run)


def _tokens_were_issued(application, app_run) -> None:
    """A leak rule that found no leak judged only the secret where the stand-in issued no token: no pass
    for tokens it never saw (blocked by the rule that broke the sign-in, or could not be checked)."""
    if not issued_tokens(app_run):
        no_evidence(
            application,
            app_run,
            "the stand-in issued no access or refresh token in these runs, so none could be looked for",
        )


def _leaking_request_targets(flows, secrets: dict[str, str]) -> set[str]:
    """The paths and queries of the URLs (the browser's and the stand-in's, in every flow of the run) that carry a
    credential, as an access log writes them."""
    targets = set()
    for _, sign_ins, every_observed in flows:
        for sign_in in sign_ins:
            for url in getattr(sign_in, "urls", None) or ():
                if _in_url(url, secrets):
                    parts = urlsplit(url)
                    targets.add(f"{parts.path}?{parts.query}")
        for observed in every_observed:
            for request in observed.entries:
                if _in_url("&".join(f"{k}={v}" for k, v in request.query), secrets):
                    targets.add(f"{request.path}?")
    return targets


def _issued_where(text: str, issued: dict[str, tuple[str, str]], application) -> str:
    """ " (issued in the sign-in '...')": where the stand-in issued the tokens `text` carries, for an output the
    whole run shares (a launched application's, drive.output_file)."""
    titles = leaked(text, {value: title for value, (_, title) in issued.items()})
    if not titles:
        return ""
    kind = "sign-in" if application.is_interactive else "run"
    if len(titles) == 1:
        return f" (issued in the {kind} {titles[0]!r})"
    return f" (issued in the {kind}s {', '.join(map(repr, titles))})"


def _served(part: str, url: str) -> str:
    """Where in what the browser received a text was: the URL is where it came from, not the leak."""
    return {
        "page": "the body of the page served at {}",
        "script": "the script served at {}",
        "response": "the body of the response a page fetched from {}",
        "dom": "the page at {} as its scripts left it",
    }[part].format(_shown(url))


def _shown(text: str) -> str:
    """Evidence of a leak, with the leaked value (and every other secret the suite knows) masked: where the mask
    lies beyond the head an excerpt shows (an SSLError's text before the Authorization header it carried), a window
    around it, cut with "…" (masked first, then cut: no cut can leave part of a secret)."""
    masked = REDACTOR.scrub(blobs_masked(REDACTOR.scrub(text)))
    mark = next(
        (m for m in MASK_MARK.finditer(masked) if m.group() not in text and m.group() not in NO_CREDENTIAL_MARKS), None
    )
    if mark is None or mark.end() <= EXCERPT:
        return excerpt(masked, EXCERPT)
    start = max(0, mark.start() - AROUND_THE_LEAK)
    end = min(len(masked), max(mark.end() + AROUND_THE_LEAK, start + EXCERPT))
    return repr("…" * (start > 0) + masked[start:end] + "…" * (end < len(masked)))
