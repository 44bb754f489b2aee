"""What a user sees when the network misbehaves: each fault is one clear outcome, in bounded time.

The faulty servers run on loopback; where a working server is needed behind the fault, the
standalone sandbox answers through a fault-injecting proxy, as a real server behind a flaky
gateway would."""

import json
import time
from urllib.parse import urlsplit

import pytest
from faulty_servers import (
    Answer,
    Fault,
    FaultyProxy,
    HostileServer,
    RawServer,
    SlowRelay,
    cut_short,
    drip,
    drip_headers,
    endless,
    gzip_bomb,
    huge,
    self_signed_certificate,
)
from run import SANDBOX_SECRETS, run_measured, run_suite, write_sandbox_environment

from sandbox import SandboxServer, default_registry

HTTP = "http:\n  connect_timeout: 2\n  read_timeout: 1\n  retries: 1\n  backoff: 0.1\n  max_retry_wait: 5\n"


def _environment(directory, issuer, http=HTTP):
    return write_sandbox_environment(directory, issuer, "faulty", http)


@pytest.fixture
def proxied_sandbox():
    """A sandbox behind a fault-injecting proxy; the test adds faults to `proxy.faults`."""

    def start(faults=(), **tls):
        proxy = FaultyProxy(faults, **tls)
        sandbox = SandboxServer(default_registry(), issuer=proxy.url).start()
        proxy.target = sandbox.url
        started.append((proxy, sandbox))
        return proxy

    started = []
    yield start
    for proxy, sandbox in started:
        proxy.close()
        sandbox.stop()


def _run(environment, *args, **kwargs):
    began = time.monotonic()
    result = run_suite(f"--env={environment}", *args, environ=SANDBOX_SECRETS, **kwargs)
    return result, result.stdout + result.stderr, time.monotonic() - began


@pytest.mark.parametrize(
    "behaviour, cause, fix",
    [
        ("silent", "no answer within 1 s", "If the server is really that slow, raise http.read_timeout"),
        ("reset", "connection reset by the server", "Check the URL's scheme (http or https) and port"),
    ],
)
def test_a_server_that_never_answers_or_resets_ends_the_run_once(tmp_path, behaviour, cause, fix):
    server = RawServer(behaviour)
    try:
        result, output, seconds = _run(_environment(tmp_path, server.url))
    finally:
        server.close()
    assert result.returncode == 3, output
    assert f"environment problem: cannot reach {server.url}: {cause}" in output, output
    assert "2 attempt(s)" in output and server.connections == 2  # retried once, then stopped
    _assert_one_line(output, cause, fix)
    assert "Traceback" not in output and " failed" not in output
    assert seconds < 30


def test_what_a_hostile_server_sent_is_shown_with_its_control_characters_escaped(tmp_path):
    """Its status line quoted in the environment problem sets no window title, clears no screen."""
    server = RawServer("escapes")
    try:
        result, output, _ = _run(_environment(tmp_path, server.url))
    finally:
        server.close()
    assert result.returncode == 3, output
    assert "BadStatusLine: \\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x1b[31mEVIL\\x9b31m" in output, output
    controls = {character for character in output if ord(character) < 32 and character not in "\n\t"}
    assert not controls and not any(0x7F <= ord(character) <= 0x9F for character in output), controls


def test_refused_connection_ends_the_run_once(tmp_path):
    server = RawServer("silent")
    url = server.url
    server.close()
    result, output, _ = _run(_environment(tmp_path, url))
    assert result.returncode == 3 and f"cannot reach {url}: connection refused" in output, output
    _assert_one_line(output, "connection refused", "Check that the server is running and listens on that host and port")


def test_500_then_200_is_retried_and_every_attempt_is_in_the_report(tmp_path, proxied_sandbox):
    proxy = proxied_sandbox([Fault("GET", r"/\.well-known/openid-configuration$", 500)])
    results = tmp_path / "allure"
    result, output, _ = _run(
        _environment(tmp_path, proxy.url), "--rule=DISC-01", "--rule=SVC-01", f"--alluredir={results}"
    )
    assert result.returncode == 0, output
    assert proxy.count("GET", "/.well-known/openid-configuration") >= 2
    names = [
        a["name"]
        for f in results.glob("*-result.json")
        for s in json.loads(f.read_text())["steps"]
        for a in s.get("attachments", [])
    ]
    assert names, "no exchange was attached"


def test_429_with_retry_after_is_honoured_even_for_a_code_redemption(tmp_path, proxied_sandbox):
    proxy = proxied_sandbox(
        [
            Fault(
                "POST",
                r"/connect/token$",
                429,
                headers={"Retry-After": "1"},
                body_contains="grant_type=authorization_code",
            )
        ]
    )
    results = tmp_path / "allure"
    result, output, seconds = _run(_environment(tmp_path, proxy.url), "--rule=PKCE-01", f"--alluredir={results}")
    assert result.returncode == 0, output
    assert proxy.count("POST", "/connect/token", "grant_type=authorization_code") == 2  # 429, then the real one
    attached = " ".join(
        a["name"]
        for f in results.glob("*-result.json")
        for s in json.loads(f.read_text())["steps"]
        for a in s.get("attachments", [])
    )
    assert "POST /connect/token -> 429" in attached and "POST /connect/token -> 200 (attempt 2)" in attached
    assert seconds >= 1


def test_a_code_redemption_answered_500_is_never_retried(tmp_path, proxied_sandbox):
    proxy = proxied_sandbox([Fault("POST", r"/connect/token$", 500, body_contains="grant_type=authorization_code")])
    record = tmp_path / "compliance.json"
    result, output, _ = _run(_environment(tmp_path, proxy.url), "--rule=PKCE-01", f"--compliance={record}")
    assert result.returncode == 3, output
    assert proxy.count("POST", "/connect/token", "grant_type=authorization_code") == 1
    summary = json.loads(record.read_text())
    assert summary["verdict"] == "inconclusive: environment problem" and summary["error_rules"] == ["PKCE-01"]
    assert "not repeatable" in output


def test_a_server_that_keeps_failing_is_an_environment_problem_not_a_non_conformance(tmp_path, proxied_sandbox):
    proxy = proxied_sandbox([Fault("POST", r"/connect/token$", 503, times=99)])
    record = tmp_path / "compliance.json"
    result, output, _ = _run(_environment(tmp_path, proxy.url), "--rule=SVC-01", f"--compliance={record}")
    assert result.returncode == 3, output
    assert json.loads(record.read_text())["rules"][0]["status"] == "error"
    assert proxy.count("POST", "/connect/token") == 2  # client_credentials may be repeated: retried once


def test_self_signed_certificate(tmp_path, proxied_sandbox):
    cert, key = self_signed_certificate(tmp_path)
    proxy = proxied_sandbox(tls_cert=cert, tls_key=key)

    result, output, _ = _run(_environment(tmp_path, proxy.url))
    assert result.returncode == 3, output
    assert f"cannot reach {proxy.url}: TLS failure (certificate not trusted: self-signed certificate)" in output
    _assert_one_line(output, "self-signed certificate", "give its PEM file in http.ca_bundle")

    trusted = _environment(tmp_path, proxy.url, HTTP + f"  ca_bundle: {cert}\n")
    result, output, _ = _run(trusted, "--rule=DISC-01", "--rule=SVC-01")
    assert result.returncode == 0, output

    record = tmp_path / "compliance.json"
    unverified = _environment(tmp_path, proxy.url, HTTP + "  verify_tls: false\n")
    result, output, _ = _run(unverified, "--rule=DISC-01", f"--compliance={record}")
    assert result.returncode == 0, output
    assert "TLS certificates are NOT verified for faulty (http.verify_tls: false)" in output
    assert json.loads(record.read_text())["tls_verification"] == "off"
    assert "InsecureRequestWarning" not in output


# Every run ends, in bounded memory: answers that trickle, never end, inflate, or stop half way.
def _hostile_environment(directory, server, exchange_timeout=3):
    return _environment(directory, server.url, HTTP + f"  exchange_timeout: {exchange_timeout}\n")


def _run_measured(environment, *args):
    return run_measured(f"--env={environment}", *args, environ=SANDBOX_SECRETS)


@pytest.mark.parametrize(
    "answer, cause, fix",
    [
        (
            Answer(body=drip(b'{"issuer": "x"}' * 20, every=0.3)),
            "the exchange took longer than 3 s in all",
            "raise http.exchange_timeout",
        ),
        (
            Answer(body=drip(b'{"issuer": "x"}' * 20, every=0.3, announced=False)),
            "the exchange took longer than 3 s in all",
            "raise http.exchange_timeout",
        ),
        (Answer(body=endless()), "the response body is larger than 10 MiB", "the authorization server's own"),
        (Answer(body=huge(200 * 2**20)), "the response body is larger than 10 MiB", "the authorization server's own"),
        (
            Answer(headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}, body=gzip_bomb(1024)),
            "the response body is larger than 10 MiB (decompressed)",
            "the authorization server's own",
        ),
        (
            Answer(body=cut_short(b'{"issuer": "http://127.0.0.1"', declared=4000)),
            "the response was cut short",
            "damaged on its way",
        ),
        (
            Answer(headers={"Content-Encoding": "gzip"}, body=b"\x1f\x8b\x08\x00broken" * 10),
            "the response's compression is broken",
            "damaged on its way",
        ),
        (
            Answer(headers={"X-Debug": "a" * 70_000}, json_body={"issuer": "x"}),
            "the answer is not usable HTTP (got more than 65536 bytes when reading header line)",
            "breaks HTTP's limits or syntax",
        ),
    ],
    ids=["drip", "drip-until-close", "endless", "200-MB", "gzip-bomb", "cut-short", "broken-gzip", "header-line"],
)
def test_a_hostile_discovery_answer_ends_the_run_as_an_environment_problem(tmp_path, answer, cause, fix):
    server = HostileServer({"/.well-known/openid-configuration": answer})
    try:
        status, output, seconds, peak_mib = _run_measured(_hostile_environment(tmp_path, server))
    finally:
        server.close()
    assert status == 3, output
    # the server was reached: its answer came too slowly, too big or damaged
    assert f"environment problem: no usable answer from {server.url}: {cause}" in output, output
    assert "/.well-known/openid-configuration" in output, "the message names the endpoint"
    _assert_one_line(output, cause, fix)
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


def test_a_token_response_cut_short_is_an_error_not_a_non_conformance(tmp_path):
    server = HostileServer({"/connect/token": Answer(body=cut_short(b'{"access_token": "eyJ', declared=500))})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    record = tmp_path / "compliance.json"
    try:
        status, output, _, _ = _run_measured(
            _hostile_environment(tmp_path, server), "--rule=SVC-01", f"--compliance={record}"
        )
    finally:
        server.close()
    assert status == 3, output
    summary = json.loads(record.read_text())
    assert summary["verdict"] == "inconclusive: environment problem" and summary["error_rules"] == ["SVC-01"]
    assert "the response was cut short" in output and "could not be checked (environment problem): SVC-01" in output
    assert sum(1 for r in server.requests if r[1] == "/connect/token") == 2  # client_credentials: retried once


def test_a_redirect_loop_ends_the_sign_in_in_bounded_time(tmp_path):
    """An authorization endpoint that sends the browser back to itself forever: the sign-in stops
    after a bounded number of pages and says so; the run ends."""
    server = HostileServer({"/connect/authorize": Answer(302, {"Location": "/connect/authorize?again=1"})})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    record = tmp_path / "compliance.json"
    try:
        status, output, seconds, peak_mib = _run_measured(
            _hostile_environment(tmp_path, server), "--rule=PKCE-01", f"--compliance={record}"
        )
    finally:
        server.close()
    assert status == 1, output
    assert "too many redirects: the server redirects in a loop" in output, output
    assert sum(1 for r in server.requests if r[1].startswith("/connect/authorize")) <= 20
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


def _assert_one_line(output, cause, fix):
    """An environment problem that ends the run is one line naming the cause, then the fix."""
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "environment problem" in line]
    assert len(lines) == 1 and cause in lines[0] and fix in lines[0].split(cause, 1)[1], output


def test_a_tls_server_that_drips_its_handshake_ends_the_run(tmp_path, proxied_sandbox):
    """Every byte of the TLS handshake arrives quickly, the handshake never: the run ends in
    bounded time all the same, before there is any HTTP (the handshake as a whole is bounded by
    http.connect_timeout, the exchange by http.exchange_timeout)."""
    cert, key = self_signed_certificate(tmp_path)
    relay = SlowRelay(urlsplit(proxied_sandbox(tls_cert=cert, tls_key=key).url).port, every=0.05)
    try:
        status, output, seconds, peak_mib = _run_measured(
            _environment(tmp_path, relay.url, HTTP + f"  ca_bundle: {cert}\n  exchange_timeout: 3\n")
        )
    finally:
        relay.close()
    assert status == 3, output
    _assert_one_line(output, f"cannot reach {relay.url}", "raise http.")
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


@pytest.mark.parametrize(
    "answer, shown",
    [
        (Answer(302, headers={"Location": "/.well-known/openid-configuration"}), "HTTP 302 (a redirect to"),
        (Answer(headers={"Content-Type": "text/html"}, body=b"<html>sign in</html>"), "Content-Type text/html"),
    ],
    ids=["redirect-loop", "html"],
)
def test_a_discovery_answer_that_is_no_document_fails_disc_01_and_blocks_the_rest(tmp_path, answer, shown):
    """A reachable server whose discovery URL redirects to itself, or answers a page: the server's
    fault (OpenID Connect Discovery section 4.2), so DISC-01 fails and every other rule is blocked by it
    (exit 1), not an environment problem asking whether the issuer is right."""
    server = HostileServer({"/.well-known/openid-configuration": answer})
    record = tmp_path / "compliance.json"
    try:
        status, output, seconds, _ = _run_measured(
            _hostile_environment(tmp_path, server), "--rule=DISC-01", "--rule=SVC-01", f"--compliance={record}"
        )
    finally:
        server.close()
    assert status == 1, output[-3000:]
    written = json.loads(record.read_text())
    rules = {r["rule_id"]: r for r in written["rules"]}
    assert (rules["DISC-01"]["status"], rules["SVC-01"]["status"]) == ("failed", "blocked"), output[-3000:]
    assert rules["SVC-01"]["blocked_by"] == "DISC-01"
    reason = rules["DISC-01"]["scenarios"][0]["reason"]
    assert shown in reason and "OpenID Connect Discovery 1.0 section 4.2" in reason, reason
    assert "is the issuer right" not in output and "environment problem" not in output
    assert seconds < 30


def test_an_issuer_of_another_port_fails_disc_01_and_blocks_the_rest(tmp_path, proxied_sandbox):
    """A discovery document naming an issuer on another port, its jwks_uri built from it, as LemonLDAP::NG
    publishes its configured issuer: DISC-01 fails naming both values, every other rule is blocked by it
    (exit 1). The run had ended on the unreachable JWKS, "cannot reach <the environment's issuer>", exit 3."""
    closed = RawServer("silent")
    elsewhere = closed.url
    closed.close()

    def other_issuer(method, path, status, headers, body):
        if path.startswith("/.well-known/openid-configuration"):
            document = json.loads(body)
            mine = document["issuer"]
            document = {k: v.replace(mine, elsewhere) if isinstance(v, str) else v for k, v in document.items()}
            body = json.dumps(document).encode()
        return status, headers, body

    proxy = proxied_sandbox(rewrite=other_issuer)
    record = tmp_path / "compliance.json"
    result, output, _ = _run(
        _environment(tmp_path, proxy.url), "--rule=DISC-01", "--rule=KEY-01", f"--compliance={record}"
    )
    assert result.returncode == 1, output[-3000:]
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    assert (rules["DISC-01"]["status"], rules["KEY-01"]["status"]) == ("failed", "blocked"), output[-3000:]
    assert rules["KEY-01"]["blocked_by"] == "DISC-01"
    reason = rules["DISC-01"]["scenarios"][0]["reason"]
    assert f"publishes issuer '{elsewhere}'" in reason and f"issuer '{proxy.url}'" in reason, reason
    assert "OpenID Connect Discovery section 4.3" in reason and "cannot reach" not in output


def test_a_discovery_url_answered_404_keeps_the_wrong_issuer_hint(tmp_path):
    server = HostileServer({})
    try:
        status, output, _, _ = _run_measured(_hostile_environment(tmp_path, server))
    finally:
        server.close()
    assert status == 3, output
    _assert_one_line(output, "answered 404 without a JSON discovery document", "is the issuer right?")


DEEP = {"deep-array": b"[" * 100_000 + b"]" * 100_000, "deep-object": b'{"a": ' * 50_000 + b"1" + b"}" * 50_000}


@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_json_nested_beyond_any_parser_is_no_json_not_a_crash(tmp_path, body):
    """A discovery document, then a token response, nested 100 000 deep: Python's parser would
    exhaust its stack. The discovery is an environment problem in one line; the token response
    fails its rule as a body that is no JSON object."""
    deep = Answer(headers={"Content-Type": "application/json"}, body=body)
    server = HostileServer({"/.well-known/openid-configuration": deep})
    try:
        status, output, _, _ = _run_measured(_hostile_environment(tmp_path, server))
        assert status == 1 and "the discovery document is not served" in output, output[-3000:]
        server.routes.update({"/.well-known/openid-configuration": server.discovery(), "/connect/token": deep})
        status, output, _, _ = _run_measured(_hostile_environment(tmp_path, server), "--rule=SVC-01")
    finally:
        server.close()
    assert status == 1 and "not a JSON object" in output and "INTERNALERROR" not in output, output[-3000:]


def test_a_discovery_document_that_is_not_utf8_fails_disc01_and_blocks_the_rest(tmp_path):
    """Bytes that are no UTF-8 inside a member: read leniently (replaced), the document parsed as
    one with other members than the server wrote; RFC 8259 section 8.1 makes it no JSON between two
    parties, so DISC-01 fails with the offset, and every other rule is blocked by it."""
    server = HostileServer({})
    document = server.discovery().body
    broken = b'{"service_documentation": "https://docs.example/\xff\xfe", ' + document[1:]  # a member nothing reads
    server.routes["/.well-known/openid-configuration"] = Answer(
        headers={"Content-Type": "application/json"}, body=broken
    )
    record_path = tmp_path / "record" / "compliance.json"
    try:
        status, output, _, _ = _run_measured(_hostile_environment(tmp_path, server), f"--compliance={record_path}")
    finally:
        server.close()
    assert status == 1 and "is not UTF-8 (byte 0xff at offset" in output and "RFC 8259" in output, output[-3000:]
    record = json.loads(record_path.read_text())
    assert record["failed_rules"] == ["DISC-01"] and record["blocked_rules"], record["failed_rules"]


PATTERN_BOMBS = {"jwt-prefixes": b"eyJ" * 3_000_000, "lowercase-code": b"code=" + b"a" * 8_000_000}


@pytest.mark.parametrize("body", PATTERN_BOMBS.values(), ids=PATTERN_BOMBS.keys())
def test_a_body_written_against_the_suites_own_patterns_ends_in_bounded_time(tmp_path, body):
    """The suite looks for tokens in every body it receives: a body shaped to make that search
    quadratic (9 MB that a naive pattern scans again from each of 3 million places) is read and
    searched in linear time, and the run ends."""
    server = HostileServer({"/.well-known/openid-configuration": Answer(body=body)})
    try:
        status, output, seconds, peak_mib = _run_measured(_hostile_environment(tmp_path, server))
    finally:
        server.close()
    assert status == 1 and "the discovery document is not served" in output, output[-3000:]
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


def test_megabytes_a_server_writes_into_an_error_are_cut_in_every_message(tmp_path):
    """A token error whose error_description is 5 MB: the failure says so in a line that is
    cut, in the terminal, JUnit, the record and the Allure results (the attached exchange keeps
    the whole body, as evidence)."""
    server = HostileServer(
        # invalid_request: an invalid_client to both the form and HTTP Basic would be the file's wrong secret
        {"/connect/token": Answer(400, json_body={"error": "invalid_request", "error_description": "x" * 5_000_000})}
    )
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    reports = tmp_path / "reports"
    try:
        status, output, seconds, peak_mib = _run_measured(
            _hostile_environment(tmp_path, server),
            "--rule=SVC-01",
            f"--compliance={reports / 'compliance.json'}",
            f"--junitxml={reports / 'junit.xml'}",
            f"--alluredir={reports / 'allure-results'}",
        )
    finally:
        server.close()
    assert status == 1 and "characters)" in output, output[-3000:]
    sizes = {p.name: p.stat().st_size for p in reports.rglob("*") if p.is_file() and "attachment" not in p.name}
    assert len(output) < 100_000 and max(sizes.values()) < 100_000, (len(output), sizes)
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


def test_a_refusal_with_an_empty_body_says_so_rather_than_error_none(tmp_path):
    """SVC-13 against a token endpoint that refuses with HTTP 400 and nothing else: the failure
    names the empty body (not "error=None") and still quotes RFC 6749 section 5.2."""
    server = HostileServer({"/connect/token": Answer(400)})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    try:
        status, output, _, _ = _run_measured(_hostile_environment(tmp_path, server), "--rule=SVC-13")
    finally:
        server.close()
    assert status == 1, output
    assert "the refusal says no error code (body: empty) (HTTP 400); RFC 6749 section 5.2" in output, output
    assert "error=None" not in output


def test_a_dripping_server_is_bounded_by_the_declared_read_timeout_retries_included(tmp_path):
    """An environment that declares http.read_timeout and no exchange_timeout: a server that drips
    each answer a byte at a time (every read is quick) costs that read timeout and a second for the
    request and all its retries (it is not tried again), not 60 s an attempt (181.6 s before)."""
    from suite.configuration.environment import load_environment
    from suite.wire.http import EnvironmentProblem, HttpClient

    server = HostileServer({"/slow": Answer(body=drip(b'{"issuer": "x"}' * 100, every=0.2))})
    environment = load_environment(
        str(_environment(tmp_path, server.url, "http:\n  read_timeout: 2\n  retries: 2\n  backoff: 0.1\n")),
        SANDBOX_SECRETS,
    )
    started = time.monotonic()
    try:
        with pytest.raises(EnvironmentProblem, match=r"took longer than 3 s in all.*1 attempt") as problem:
            HttpClient(environment.http, server.url).send("GET", server.url + "/slow")
    finally:
        server.close()
    seconds = time.monotonic() - started
    assert seconds < 5, f"{seconds:.1f} s for a read timeout of 2 s ({problem.value})"


def test_an_endpoint_that_timed_out_is_not_waited_for_again():
    """A token endpoint that drips its headers, a byte every 0.5 s: the first request waits
    http.exchange_timeout, the next ones to that endpoint end at once naming that first timeout; the
    server's other endpoints are still asked."""
    from suite.configuration.environment import HttpSettings
    from suite.wire.http import EnvironmentProblem, HttpClient

    server = HostileServer({"/connect/token": Answer(body=drip_headers(0.5)), "/other": Answer(body=b"{}")})
    client = HttpClient(HttpSettings(retries=1, backoff=0.1, read_timeout=5, exchange_timeout=2))
    try:
        began = time.monotonic()
        with pytest.raises(EnvironmentProblem, match=r"took longer than 2 s in all") as first:
            client.send("POST", server.url + "/connect/token", data={"grant_type": "client_credentials"})
        assert 1.9 < time.monotonic() - began < 4, time.monotonic() - began
        for _ in range(5):
            began = time.monotonic()
            with pytest.raises(EnvironmentProblem) as later:
                client.send("POST", server.url + "/connect/token?again=1", data={"grant_type": "client_credentials"})
            assert time.monotonic() - began < 0.2
            assert str(later.value).startswith(f"not sent (POST {server.url}/connect/token?again=1): this endpoint")
            assert str(first.value) in str(later.value) and "raise http.exchange_timeout" in str(later.value)
        assert client.send("GET", server.url + "/other").status_code == 200
    finally:
        server.close()
    assert sum(1 for r in server.requests if r[1].startswith("/connect/token")) == 1


def test_a_token_endpoint_that_drips_its_headers_costs_the_run_one_exchange_timeout(tmp_path):
    """Every service scenario needs the token endpoint; it drips its headers, a byte every 0.5 s. The
    run waits for it once (http.exchange_timeout, 3 s here), the other scenarios end at once with the
    same cause, and the run ends as an environment problem (exit 3). The terminal prints that cause once,
    with how many scenarios it stopped, and counts them as could not be checked, not as FAILED; the
    record keeps each scenario's reason."""
    server = HostileServer({"/connect/token": Answer(body=drip_headers(0.5))})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    record = tmp_path / "compliance.json"
    rules = ("SVC-01", "SVC-02", "SVC-03", "SVC-04", "SVC-05", "SVC-08")
    try:
        status, output, seconds, _ = _run_measured(
            _hostile_environment(tmp_path, server), f"--compliance={record}", *map("--rule={}".format, rules)
        )
    finally:
        server.close()
    assert status == 3, output[-3000:]
    assert sum(1 for r in server.requests if r[1] == "/connect/token") == 1, server.requests
    assert output.count("this endpoint timed out earlier in the run, and the run does not wait for it again") == 1
    assert "and 7 more scenario(s), each in the record" in output and "FAILED" not in output, output[-3000:]
    assert "9 could not be checked" in output, output[-3000:]  # SVC-08 has four scenarios
    written = json.loads(record.read_text())
    assert written["verdict"] == "inconclusive: environment problem"
    reasons = [s["reason"] for r in written["rules"] for s in r["scenarios"]]
    assert sum("this endpoint timed out earlier in the run" in reason for reason in reasons) == 8, reasons
    assert seconds < 30, seconds


def _generated_jwks(count: int, shared_kid: bool = False) -> dict:
    """`count` small RSA keys, each with a kid of its own (but the last, with `shared_kid`)."""
    keys = [{"kty": "RSA", "kid": f"k{index}", "use": "sig", "n": "AQAB", "e": "AQAB"} for index in range(count)]
    if shared_kid:
        keys[-1]["kid"] = "k0"
    return {"keys": keys}


def test_a_jwks_of_more_keys_than_the_suite_reads_ends_the_run_in_one_line(tmp_path):
    """20,000 small keys (under the 10 MiB body limit): KEY-02 took 43 s over them with no message. Now
    the run ends before any scenario, exit 3, in one line naming the count and the limit."""
    from suite.wire.server import MAX_JWKS_KEYS

    server = HostileServer({"/jwks": Answer(json_body=_generated_jwks(20_000))})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    try:
        status, output, seconds, peak_mib = _run_measured(_hostile_environment(tmp_path, server), "--rule=KEY-02")
    finally:
        server.close()
    assert status == 3, output[-3000:]
    cause = f"its JWKS ({server.url}/jwks) holds 20000 keys, more than the {MAX_JWKS_KEYS} the suite reads"
    _assert_one_line(output, cause, "Check that jwks_uri is the authorization server's own")
    assert seconds < 30 and peak_mib < 300, (seconds, peak_mib)


@pytest.mark.timeout(60)
def test_the_signing_key_checks_take_linear_time_in_the_keys():
    """KEY-02 counted each kid's repetitions key by key: 12 s at 5,000 keys, 299 s at 50,000. Over
    100,000 keys, two sharing a kid, it now takes a moment (quadratic, it would take hours)."""
    from types import SimpleNamespace

    from steps.signing_keys import keys_usable, only_public_keys
    from suite.verdict.checks import NonConformance

    discovery = SimpleNamespace(
        jwks=_generated_jwks(100_000, shared_kid=True),
        metadata={"jwks_uri": "https://connect.example/jwks", "id_token_signing_alg_values_supported": ["RS256"]},
    )
    began = time.monotonic()
    only_public_keys(discovery)
    with pytest.raises(NonConformance, match=r"share the kid\(s\) \['k0'\]"):
        keys_usable(discovery)
    assert time.monotonic() - began < 20


def test_a_server_gone_mid_run_ends_the_remaining_requests_at_once(monkeypatch):
    """A server that died mid-run cost every remaining scenario its whole retry budget (189 s against
    oidc-provider): after SERVER_GONE_AFTER requests refused to their last retry, in a row, the next
    ones get one attempt (the same cause, exit 3 at the end); an answer makes retries count again."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from suite.configuration.environment import HttpSettings
    from suite.wire.http import SERVER_GONE_AFTER, EnvironmentProblem, HttpClient

    monkeypatch.setattr(HttpClient, "refused_in_a_row", 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = HttpClient(HttpSettings(retries=2, backoff=0.3, connect_timeout=1))

    def refused() -> tuple[float, str]:
        began = time.monotonic()
        with pytest.raises(EnvironmentProblem) as problem:
            client.send("GET", f"http://127.0.0.1:{port}/.well-known/openid-configuration")
        return time.monotonic() - began, str(problem.value)

    for _ in range(SERVER_GONE_AFTER):
        seconds, message = refused()
        assert seconds >= 0.9 and "3 attempt(s)" in message and "gone" not in message
    seconds, message = refused()
    assert seconds < 0.5 and "1 attempt(s)" in message and "it is gone" in message, message

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert client.send("GET", f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    assert HttpClient.refused_in_a_row == 0


def test_a_code_the_suite_itself_redeemed_too_late_is_replaced_by_a_fresh_one_once(tmp_path, proxied_sandbox):
    """The first code of the run comes back 1.6 s after its authorization request was sent (a busy
    machine: the proxy holds the redirect that carries it), so its redemption starts past the declared
    lifetime of 2 s less a second, and PKCE-05's expected refusal could only mean it expired. The same
    authorization request again gets a fresh code, redeemed at once: the rule has its verdict, not
    an environment problem. The sandbox itself keeps codes far longer: nothing expired."""
    held = []

    def hold_the_first_code(method, path, status, headers, body):
        if "code=" in headers.get("Location", "") and not held:
            held.append(path)
            time.sleep(1.6)
        return status, headers, body

    proxy = proxied_sandbox()
    proxy.rewrite = hold_the_first_code
    environment = _environment(
        tmp_path, proxy.url, "http:\n  read_timeout: 5\nexpectations:\n  authorization_code_lifetime: 2\n"
    )
    _, output, _ = _run(environment, "--rule=PKCE-05", "-p", "no:cacheprovider")
    assert held, "no code came back through the proxy"
    assert "3 passed" in output and "ENVIRONMENT PROBLEM" not in output, output[-3000:]
    assert "past its deadline" not in output
