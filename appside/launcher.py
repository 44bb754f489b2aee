"""Starts the application when its file says how (`drive.launch`), with the issuer it must use,
and stops it at the end of the run."""

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from suite.secrets.redaction import REDACTOR


class LaunchFailed(Exception):
    pass


def issuer_variables(issuer: str, ca_path=None) -> dict:
    """What a launched application (or a service command) is told about the stand-in; with HTTPS,
    the authority to trust, also where Python's requests, OpenSSL and Node.js look for one."""
    variables = {"VISMA_CONNECT_ISSUER": issuer, "VISMA_API_BASE_URL": issuer + "/api"}
    if ca_path:
        variables.update(
            {
                name: str(ca_path)
                for name in ("VISMA_CONNECT_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")
            }
        )
    return variables


# A line that says why a program did not start: "Error: Cannot find module ...", "ModuleNotFoundError: ..."
ERROR_LINE = re.compile(r"\b(\w*Error|Exception|Cannot find|not found|No such file)\b")


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
        self.log_path, self.ready_url = log_path, ready_url
        self._log = open(log_path, "wb")  # noqa: SIM115 -- the application writes to it until stop() closes it
        self.process = subprocess.Popen(
            command,
            shell=True,
            # unbuffered: what a Python application prints is in the log when the suite reads it
            env={**os.environ, "PYTHONUNBUFFERED": "1", **variables},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LaunchFailed(
                    f"the application exited with {self.process.returncode} before it answered "
                    f"at {url}; its output: {self.output_tail()}"
                )
            if _answers(url):
                return
            time.sleep(0.1)
        output = self.output_tail()
        raise LaunchFailed(
            f"the application did not answer at {url} within {timeout:g} s; "
            + (f"its output so far: {output}" if output else "it printed nothing")
            + f". If it listens on another port or path, make the URL name it (or start it on port "
            f"{urlsplit(url).port or 80})"
        )

    def output_tail(self, lines: int = 5) -> str:
        """The output's last lines, and before them its first line that names an error when the
        tail does not (Node.js ends a failed start with its version, the cause lines above)."""
        self._log.flush()
        try:
            text = Path(self.log_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        all_lines = [line for line in text.strip().splitlines() if line.strip()]
        tail = all_lines[-lines:]
        cause = next((line for line in all_lines if ERROR_LINE.search(line)), None)
        if cause is not None and cause not in tail:
            tail = [cause.strip(), "...", *tail]
        return REDACTOR.scrub(" | ".join(tail))

    def terminate(self) -> None:
        """Asks the application's process group to end (SIGTERM), without waiting: stop() waits."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Ends the application's whole process group (it was started as its own session): what it
        put in the background goes with it, even when the command itself has already exited."""
        stop_group(self.process)
        self._log.close()


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1, allow_redirects=False)
        return True
    except requests.RequestException:
        return False


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM to the process group `process` leads (started with start_new_session), SIGKILL to
    what is left of it after `grace` seconds."""
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
