"""Starts the application when its file says how (`drive.launch`), with the issuer it must use,
and stops it at the end of the run."""

import codecs
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from suite.secrets.redaction import learn_verifiers_in, said


class LaunchFailed(Exception):
    pass


# Every process the suite starts for the application (drive.launch, a service command) carries this variable,
# unique to the run, and inherits it to its children: one moved into a session of its own (setsid, a daemon's
# double fork) leaves the process group the suite ends, not its environment (end_marked reads it at the end).
RUN_MARKER_NAME = "VISMA_CONFORMANCE_RUN"
RUN_MARKER = secrets.token_hex(16)


def issuer_variables(issuer: str, ca_path=None) -> dict:
    """What a launched application (or a service command) is told about the stand-in; with HTTPS,
    the authority to trust, also where Python's requests, OpenSSL and Node.js look for one. And the run's
    marker (RUN_MARKER_NAME), by which the suite finds what it started once the run ends."""
    variables = {
        "VISMA_CONNECT_ISSUER": issuer,
        "VISMA_API_BASE_URL": issuer + "/api",
        RUN_MARKER_NAME: RUN_MARKER,
    }
    if ca_path:
        variables.update(
            {
                name: str(ca_path)
                for name in ("VISMA_CONNECT_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")
            }
        )
    return variables


# Where a program's output says it reached for an issuer: a URL, or urllib3's HTTPConnectionPool(host=..., port=...)
# its user information (user:password@) skipped: never part of what the hint prints
_URL = re.compile(r"\b(?P<scheme>https?)://(?:[^/@\s]*@)?(?P<origin>[\w.-]+(?::\d+)?)", re.IGNORECASE)
_POOL = re.compile(r"\b(HTTPS?)ConnectionPool\(host='([^']+)', port=(\d+)\)")
_ABOUT_THE_ISSUER = re.compile(r"openid-configuration|issuer|\biss\b", re.IGNORECASE)


def issuer_hint(output: str, issuer: str) -> str:
    """Where a program that failed says, on a line about an issuer (its discovery document, an issuer mismatch),
    that it reached for another origin than the stand-in's, the value to configure: the stand-in's issuer, which
    VISMA_CONNECT_ISSUER carries; "" where its output says nothing of the kind."""
    stand_in = issuer.rstrip("/").lower()
    reached = []
    for line in output.splitlines():
        if _ABOUT_THE_ISSUER.search(line):
            reached += [f"{m['scheme']}://{m['origin']}".lower() for m in _URL.finditer(line)]
            reached += [f"{m.group(1).lower()}://{m.group(2).lower()}:{m.group(3)}" for m in _POOL.finditer(line)]
    default_port = {"http": ":80", "https": ":443"}
    others = [
        origin
        for origin in dict.fromkeys(reached)
        if origin != stand_in and origin + default_port[origin.split(":", 1)[0]] != stand_in
    ]
    if not others:
        return ""
    return (
        f"; it reached for {', '.join(others[:3])}, not the stand-in: configure the issuer as {issuer}, the "
        "stand-in's (the suite passes it in VISMA_CONNECT_ISSUER)"
    )


# The variables that turn a program's own "do not verify" back into validation: requests reads REQUESTS_CA_BUNDLE,
# then CURL_CA_BUNDLE, for every request not given verify= itself, so either overrides a Session's verify=False
# (psf/requests#3829), and an application that validates nothing passed APPC-33 because the suite had set one. The
# others the suite sets (VISMA_CONNECT_CA_BUNDLE, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS) only add trust: with requests
# 2.34, httpx 0.29, urllib3 2.8 (cert_reqs CERT_NONE), Node.js 20 (rejectUnauthorized: false,
# NODE_TLS_REJECT_UNAUTHORIZED=0) and curl -k, none of them, nor SSL_CERT_DIR, turns validation back on.
VALIDATION_RESTORERS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


# A sitecustomize that puts the stand-in's authority where Python's default trust store is (certifi's bundle)
PRODUCTION_TRUST = Path(__file__).resolve().parent / "production_trust"


def as_in_production(environment: dict) -> dict:
    """`environment` as the application's is in production, for APPC-33's run: without VALIDATION_RESTORERS (the
    suite's and those it inherited), its default trust store trusting the stand-in's authority as it trusts Visma
    Connect's. The variables that add an authority to a default store stay (SSL_CERT_FILE for OpenSSL, Go and curl,
    NODE_EXTRA_CA_CERTS for Node.js); for Python, whose requests and httpx read certifi's bundle, PRODUCTION_TRUST
    on PYTHONPATH makes that bundle the stand-in's authority (VISMA_CONNECT_CA_BUNDLE)."""
    kept = {name: value for name, value in environment.items() if name not in VALIDATION_RESTORERS}
    if kept.get("VISMA_CONNECT_CA_BUNDLE"):
        kept["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PRODUCTION_TRUST), kept.get("PYTHONPATH"))))
    return kept


# A line that says why a program did not start: "Error: Cannot find module ...", "ModuleNotFoundError: ..."
ERROR_LINE = re.compile(r"\b(\w*Error|Exception|Cannot find|not found|No such file)\b")
# ... and one that states the error itself, as a runtime prints it: Node's "Error: cannot read ..." or
# "TypeError [ERR_X]: ...", Python's "ModuleNotFoundError: ...", Java's "Exception in thread ...": preferred to
# a line that merely names one (Node prints the throwing source line, `throw new Error(...)`, above it)
STATED_ERROR = re.compile(
    r"^\s*(?:Uncaught\s+)?(?:[\w.$]*(?:Error|Exception)(?:\s*\[[\w.-]+\])?:\s|Exception in thread)"
    # a web server's error log: Apache's "[date] [auth_openidc:error] [pid 1:tid 2] ...", nginx's "date [error] ..."
    r"|^\s*(?:\[[^\]]*\]|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\s*\[(?:[\w-]+:)?(?:error|crit|alert|emerg)\]"
)
# Apache's error log line: its module and level, the process and thread (one request's lines share them), the message
APACHE_ERROR = re.compile(
    r"^\[[^\]]*\]\s*\[(?P<level>[\w-]+:\w+)\]\s*\[pid (?P<pid>[^\]]+)\](?:\s*\[client [^\]]*\])?\s*(?P<message>.*)$"
)
CAUSE_LINES, LINE_KEPT = 2, 300  # the excerpt's bounds: its error lines, and each line's characters


ANSWER_WAIT = 3.0  # seconds a readiness probe reads one answer's body
NOT_FOUND = 404


class LaunchedApplication:
    """The application, started; `wait_until_ready()` waits until it answers at `ready_url`, so
    that the suite can do other things (launch the browser) while it starts."""

    def __init__(self, command: str, variables: dict, ready_url: str | None, log_path) -> None:
        if ready_url and _answers(ready_url):
            # the suite would certify whatever answers there, not the application it launches (which
            # cannot bind the port): a leftover of an earlier run, or another program
            raise LaunchFailed(
                f"{ready_url} already answers before the suite launched the application: another process "
                "is serving it; stop it or choose another port"
            )
        self.command, self.log_path, self.ready_url = command, Path(log_path), ready_url
        self.issuer = str(variables.get("VISMA_CONNECT_ISSUER", ""))
        # unbuffered: what a Python application prints is in the log when the suite reads it
        self.environment = {**os.environ, "PYTHONUNBUFFERED": "1", **variables}
        self._watch: Callable[[str], list[str]] | None = None
        self._earlier: list[KeptOutput] = []  # the outputs of its launches before this one (relaunch)
        self._start(self.environment, self.log_path)

    def _start(self, environment: dict, log_path: Path) -> None:
        self.process = subprocess.Popen(
            self.command,
            shell=True,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._output = KeptOutput(log_path)
        self._output.watch = self._watch
        self._reader = threading.Thread(target=self._output.read_all, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def relaunch(self, production_trust: bool = False) -> None:
        """Stops the application and starts it again: in the environment it was first launched in or, with
        `production_trust` (APPC-33's run under a certificate nobody trusts), in that environment as_in_production.
        What it printed before stays in output(); wait_until_ready() waits for it as for the first launch."""
        self.stop()
        self._earlier.append(self._output)
        log_path = self.log_path.with_name(f"{self.log_path.stem}-{len(self._earlier)}{self.log_path.suffix}")
        self._start(as_in_production(self.environment) if production_trust else self.environment, log_path)

    def watch_left_out(self, watch: Callable[[str], list[str]]) -> None:
        """`watch` reads what is left out of the output before it goes: the names of the secrets in a text."""
        self._watch = self._output.watch = watch

    def found_left_out(self) -> set[str]:
        """What `watch` found in the output left out so far."""
        return {name for output in (*self._earlier, self._output) for name in output.found_left_out}

    def output(self) -> str:
        """What the application printed so far, as the suite keeps it (KeptOutput), read as UTF-8: each launch's
        output in turn where it was launched again (relaunch)."""
        return learn_verifiers_in("".join(output.text() for output in (*self._earlier, self._output)))

    def wait_until_ready(self, timeout: float = 20.0) -> None:
        try:
            self._wait_until_ready(timeout)
        except BaseException:  # not ready in time, exited, Ctrl-C or SIGTERM: nothing it started outlives the run
            self.stop()
            raise

    def _wait_until_ready(self, timeout: float) -> None:
        url = self.ready_url
        if not url:
            return
        deadline, status, not_found = time.monotonic() + timeout, None, False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LaunchFailed(
                    f"the application exited with {self.process.returncode} before it answered "
                    f"at {url}; its output: {self.output_tail()}{issuer_hint(self.output(), self.issuer)}"
                )
            whole, answered = _answer(url)
            if whole and answered != NOT_FOUND:
                return
            # a 404 is no page of the application yet: a dev server that listens before it serves, or a wrong path
            not_found = not_found or (whole and answered == NOT_FOUND)
            status = status if whole else answered or status
            time.sleep(0.1)
        output = self.output_tail()
        printed = f"its output so far: {output}" if output else "it printed nothing"
        if not_found:
            raise LaunchFailed(
                f"the application answered HTTP 404 (Not Found) at {url} until the readiness limit of {timeout:g} s, "
                f"so that page does not exist; {printed}. Make the URL name a page the application serves "
                "(drive.sign_in_url, or drive.ready_url)"
            )
        if status:  # it listens there: the port and path are right, its page is what never ends
            raise LaunchFailed(
                f"the application answered at {url} with HTTP {status} but its page never came to an end within "
                f"{timeout:g} s (its body went on coming, or stalled); {printed}. Make that page finish loading (a "
                "Content-Length, or the end of a chunked body), or name a page that does as drive.ready_url"
            )
        raise LaunchFailed(
            f"the application did not answer at {url} within {timeout:g} s; {printed}. If it listens on another "
            f"port or path, make the URL name it (or start it on port {urlsplit(url).port or 80})"
        )

    def output_tail(self, lines: int = 5) -> str:
        """This launch's output so far as output_excerpt() gives it: the error itself, not only where it was thrown."""
        return output_excerpt(self._output.text(), lines)

    def terminate(self) -> None:
        """Asks the application's process group to end (SIGTERM), without waiting: stop() waits."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Ends the application's whole process group (it was started as its own session): what it
        put in the background goes with it, even when the command itself has already exited."""
        stop_group(self.process)
        # a process of its own session (setsid) may hold the pipe open: what it prints later is not waited for
        self._reader.join(timeout=2)
        self._output.close()


# What is kept of a launched application's output: its first and last OUTPUT_KEPT bytes each. One that
# printed 300 MB filled the temporary folder and the reports folder with it, and APPC-28 read it for minutes.
OUTPUT_KEPT = 8 * 1024 * 1024
OVERLAP = 64 * 1024  # characters read again across a cut: longer than any encoding of a token


class KeptOutput:
    """A program's output, read from its pipe as it comes: the first `kept` bytes in `path` as they come, the
    last `kept` bytes in memory, and how many between them were left out (read and dropped: the program is
    never held up). text() is both with a line between them that says how much was left out."""

    def __init__(self, path, kept: int = OUTPUT_KEPT) -> None:
        self.path, self.kept = Path(path), kept
        self._file = open(path, "wb")  # noqa: SIM115 -- written until the program's output ends
        self._head = 0
        self._tail = bytearray()
        self.left_out = 0
        self._lock = threading.Lock()
        # what reads the bytes left out before they go (names found in a text), what it found, and the end of
        # what it read last: read again with the next part, so that a secret across the cut is found
        self.watch: Callable[[str], list[str]] | None = None
        self.found_left_out: set[str] = set()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._overlap = ""

    def read_all(self, pipe) -> None:
        with contextlib.suppress(OSError, ValueError):  # the pipe closed by close()
            while chunk := pipe.read1(65536):
                self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        with self._lock:
            if self._head < self.kept:
                written = chunk[: self.kept - self._head]
                self._file.write(written)
                self._file.flush()
                self._head += len(written)
                chunk = chunk[len(written) :]
            if not self.left_out and len(self._tail) + len(chunk) > self.kept:  # the first bytes left out follow
                self._overlap = self._file_end()  # the kept head's end
            self._tail += chunk
            if len(self._tail) > self.kept + self.kept // 8:  # each cut read once, with its overlaps
                dropped = len(self._tail) - self.kept
                self._read_left_out(bytes(self._tail[:dropped]), bytes(self._tail[dropped : dropped + OVERLAP]))
                self.left_out += dropped
                del self._tail[:dropped]

    def _file_end(self) -> str:
        with contextlib.suppress(OSError), open(self.path, "rb") as file:
            file.seek(max(0, self._head - OVERLAP))
            return file.read().decode("utf-8", errors="replace")
        return ""

    def _read_left_out(self, dropped: bytes, after: bytes) -> None:
        """Reads the bytes about to be left out for secrets (`watch`), with the end of what came before them
        and the start of what is kept after them: a secret across either cut is found whole."""
        if self.watch is None:
            return
        text = self._overlap + self._decoder.decode(dropped)
        self.found_left_out.update(self.watch(text + after.decode("utf-8", errors="replace")))
        self._overlap = text[-OVERLAP:]

    def data(self) -> bytes:
        with self._lock:
            try:
                head = self.path.read_bytes()
            except OSError:
                head = b""
            if self._file.closed or not self.left_out:  # closed: the file holds all that is kept
                return head + (b"" if self._file.closed else bytes(self._tail))
            return head + self.gap().encode() + bytes(self._tail)

    def gap(self) -> str:
        read = (
            "APPC-28 read them for the secrets and tokens known as they were printed"
            if self.watch
            else "APPC-28 did not read them"
        )
        return (
            f"\n[the suite left out {self.left_out} bytes of the application's output here: it keeps the first and "
            f"the last {self.kept // (1024 * 1024)} MB; {read}]\n"
        )

    def text(self) -> str:
        return self.data().decode("utf-8", errors="replace")

    def close(self) -> None:
        """The whole of what was kept, in `path`."""
        if self._file.closed:
            return
        data = self.data()
        with self._lock:
            self._file.close()
            with contextlib.suppress(OSError):
                self.path.write_bytes(data)


def connection_refused(url: str) -> str:
    """Where nothing listens at `url`'s host and port (a TCP connection refused there): what to say of it, else ""."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=2).close()
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on {parts.hostname}:{port}"
    except OSError:  # a timeout, a name that does not resolve: not the question asked here
        return ""
    return ""


def _answers(url: str) -> bool:
    return _answer(url)[0]


def _answer(url: str) -> tuple[bool, int | None]:
    """Whether `url` gave a whole answer, and its status: (False, status) where it sent one but its body did not
    come to an end within ANSWER_WAIT seconds (a byte a second would keep a plain read going for ever); (False,
    None) where nothing answered."""
    try:
        response = requests.get(url, timeout=1, allow_redirects=False, stream=True)
    except requests.RequestException:
        return False, None
    deadline = time.monotonic() + ANSWER_WAIT
    with response:
        try:
            while response.raw.read1(65536):  # what has come, not a fixed amount: the clock is looked at
                if time.monotonic() > deadline:
                    return False, response.status_code
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            return False, response.status_code
    return True, response.status_code


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM to the process group `process` leads (started with start_new_session), SIGKILL to
    what is left of it after `grace` seconds. Ctrl-C and SIGTERM wait until it is done."""
    with signals_deferred():
        _stop_group(process, grace)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that come in the block take effect at its end: a second Ctrl-C, or a CI
    runner's SIGTERM again, must not cut short the stopping of what the run launched (it outlived the
    run). Only the main thread handles signals: elsewhere the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        number: signal.signal(number, lambda signum, frame: received.append(signum))
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(received[0])  # as it would have come: KeyboardInterrupt, or the end of the process


def marked_processes(marker: str | None = None) -> list[int]:
    """The processes whose environment, as they were started (/proc/PID/environ), carries the run's marker:
    every one the suite started for the application, and their children, wherever they moved to."""
    needle = f"{RUN_MARKER_NAME}={marker or RUN_MARKER}".encode()
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    variables = environ.read(1 << 20).split(b"\0")  # an environment is far smaller
            except OSError:  # gone, or another user's
                continue
            if needle in variables:
                found.append(int(entry.name))
    return found


def end_marked(marker: str | None = None, grace: float = 2.0, limit: float = 10.0) -> list[int]:
    """Ends every process that carries the run's marker: SIGTERM, then SIGKILL to those left after `grace`
    seconds, again until none is left or `limit` seconds have passed (one may fork as it is ended). The ones
    it found first, for the line that says what the application left running. Signals wait until it is done."""
    started = time.monotonic()
    first = marked_processes(marker)
    with signals_deferred():
        _signal_all(first, signal.SIGTERM)
        while marked_processes(marker) and time.monotonic() - started < grace:
            time.sleep(0.1)
        while (left := marked_processes(marker)) and time.monotonic() - started < limit:
            _signal_all(left, signal.SIGKILL)
            time.sleep(0.1)
    return first


def _signal_all(pids: list[int], number: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, number)


def _stop_group(process: subprocess.Popen, grace: float) -> None:
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except (ProcessLookupError, PermissionError):
            break  # no process is left in the group
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.05)
        if not _group_alive(process.pid):
            break


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs. One that ended but is not yet reaped (a zombie)
    does not count: the shell that started the application reaped nothing once it was ended
    itself, and its orphaned child waits for init, which in a container may take a second or more
    to reap it (each certification waited for it)."""
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    members = _group_states(group)
    return members is None or any(state != "Z" for state in members)


def _group_states(group: int) -> list[str] | None:
    """The states (R, S, Z, ...) of the group's processes, from /proc; None where there is no /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    states = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[2]) == group:
                states.append(fields[0])
    return states


class Ended(Protocol):
    """What end_process_tree needs of a process it ends: a subprocess.Popen, or a forked run (appside.forked_runs)."""

    pid: int

    def wait(self, timeout: float | None = None) -> int: ...

    def poll(self) -> int | None: ...


def end_process_tree(process: "Ended", grace: float = 5.0) -> None:
    """Ends `process` (started with start_new_session) and every process descended from it, in
    whatever session it put itself: a certification launches its application, its service command
    and the browser each as a session of its own, which outlive the suite's when only it is killed.
    SIGTERM to the suite's group first, so that it unwinds and stops what it launched; after `grace`
    seconds SIGKILL to what is left of each process and its group. The processes are listed before
    anything is sent, so that one the suite left behind as it ended is not lost (it no longer
    descends from it)."""
    tree = _descendants(process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    for _ in range(5):  # again while it still forks: what each round finds alive is killed, with its group
        if process.poll() is None:  # not yet reaped: its pid is still its own
            tree |= _descendants(process.pid)
        alive = _still_running(tree)
        if not alive:
            break
        for pid, group in alive.items():
            targets = ((os.killpg, group), (os.kill, pid)) if group != os.getpgrp() else ((os.kill, pid),)
            for send, target in targets:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    send(target, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


def _process_table() -> dict[int, tuple[bytes, int, int, int]]:
    """Every process (Linux /proc): pid -> (state, parent pid, process group, start time)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    # after the name in parentheses (which may hold anything): state, ppid, pgrp, ...
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue  # ended while the table was read
            table[int(entry)] = (fields[0], int(fields[1]), int(fields[2]), int(fields[19]))
    return table


def _descendants(root: int) -> set[tuple[int, int]]:
    """`root` and every process descended from it, as (pid, start time): the start time tells a
    process from a later one given the same pid."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, frontier = set(), [root] if root in table else []
    while frontier:
        pid = frontier.pop()
        found.add((pid, table[pid][3]))
        frontier += children.get(pid, [])
    return found


def _still_running(tree: set[tuple[int, int]]) -> dict[int, int]:
    """Those of `tree` that neither ended nor are zombies: pid -> its process group now."""
    table = _process_table()
    return {
        pid: table[pid][2]
        for pid, started in tree
        if pid in table and table[pid][3] == started and table[pid][0] != b"Z"
    }


def output_excerpt(text: str, lines: int = 5) -> str:
    """A program's output in one bounded line, masked: its last `lines` lines, and before them its
    first lines that state an error (STATED_ERROR, else ERROR_LINE) when the tail does not have them,
    each cut at LINE_KEPT characters. A launch that failed and a service command that crashed both
    end with where it was thrown (Node.js: its stack and its version), the error itself above it."""
    all_lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    tail = all_lines[-lines:]
    stated = [line for line in all_lines if STATED_ERROR.search(line)]
    causes = stated or [line for line in all_lines if ERROR_LINE.search(line)]
    causes = [line for line in dict.fromkeys(causes) if line not in tail][:CAUSE_LINES]
    excerpt = [*causes, "...", *tail] if causes else tail
    # masked before each line is cut: a secret across the cut would keep its first part unmasked
    return " | ".join(_cut(said(line)) for line in excerpt)


def _cut(line: str) -> str:
    return line if len(line) <= LINE_KEPT else line[: LINE_KEPT - 3] + "..."
