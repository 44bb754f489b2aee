"""A pytest plugin for scripts/benchmark.py: writes every HTTP exchange the suite makes, in order,
to the JSON-lines file named by BENCHMARK_TRACE, so that a plain `requests` loop can replay them.

Each line names the `requests.Session` that sent it (one per scenario's HTTP client, and one for
discovery), so the replay keeps cookies per session as the suite did. A wait the contract
imposes (CODE-04 lets the declared code lifetime pass since its code came back at the start of the
run) is a line of its own, `{"sleep": s, "until": t}`: it ended t seconds after the first exchange,
and the replay waits at the same point until as long after its own first exchange. The trace holds
the sandbox's own test secrets and lives in the benchmark's temporary folder."""

import itertools
import json
import os
import time

import pytest
import requests

_numbers = itertools.count()  # each session's number in the trace, kept on the session itself
_trace = None
_first_exchange = None  # time.monotonic() of the first exchange


@pytest.hookimpl(tryfirst=True)  # before conftest.py fetches discovery
def pytest_configure(config):
    global _trace
    _trace = open(os.environ["BENCHMARK_TRACE"], "w", encoding="utf-8")  # noqa: SIM115 -- written to until the run ends
    send = requests.Session.send

    def recording_send(session, request, **kwargs):
        global _first_exchange
        if _first_exchange is None:
            _first_exchange = time.monotonic()
        response = send(session, request, **kwargs)
        # On the session, not by id(session): a sign-in's login session is freed when it ends, and the
        # next one (CODE-04's early sign-ins, its control's two) could get its id, and so its cookies
        # in the replay: a login skipped, other answers, a replay that no longer matches.
        number = getattr(session, "trace_number", None)
        if number is None:
            number = session.trace_number = next(_numbers)
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        _trace.write(
            json.dumps(
                {
                    "session": number,
                    "method": request.method,
                    "url": request.url,
                    "headers": dict(request.headers),
                    "body": body,
                    "status": response.status_code,
                    "location": response.headers.get("Location"),
                    "json": _json_or_none(response),
                }
            )
            + "\n"
        )
        return response

    requests.Session.send = recording_send
    sleep = time.sleep

    def recording_sleep(seconds):
        sleep(seconds)
        until = time.monotonic() - _first_exchange if _first_exchange is not None else seconds
        _trace.write(json.dumps({"sleep": seconds, "until": until}) + "\n")

    time.sleep = recording_sleep


def pytest_unconfigure(config):
    if _trace is not None:
        _trace.close()


def _json_or_none(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
