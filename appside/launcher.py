"""Starts the application when its file says how (`drive.launch`), with the issuer it must use,
and stops it at the end of the run."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

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


class LaunchedApplication:
    """The application, started; `wait_until_ready()` waits until it answers at `ready_url`, so
    that the suite can do other things (launch the browser) while it starts."""

    def __init__(self, command: str, variables: dict, ready_url: str | None, log_path) -> None:
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
            try:
                requests.get(url, timeout=1, allow_redirects=False)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise LaunchFailed(f"the application did not answer at {url} within {timeout:g} s")

    def output_tail(self, lines: int = 5) -> str:
        self._log.flush()
        try:
            text = Path(self.log_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return REDACTOR.scrub(" | ".join(text.strip().splitlines()[-lines:]))

    def terminate(self) -> None:
        """Asks the application's process group to end (SIGTERM), without waiting: stop() waits."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Ends the application's whole process group (it was started as its own session): what it
        put in the background goes with it, even when the command itself has already exited."""
        stop_group(self.process)
        self._log.close()


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
    try:
        os.killpg(group, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
