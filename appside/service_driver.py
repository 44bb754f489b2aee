"""Drives a service application: runs its command (or calls its URL), which makes it fetch a
token with client_credentials and call the Visma API."""

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

import requests

from appside.effort import EFFORT
from appside.launcher import (
    as_in_production,
    issuer_hint,
    issuer_variables,
    output_excerpt,
    signals_deferred,
    stop_group,
)
from suite.secrets.redaction import REDACTOR


@dataclass
class ServiceRun:
    succeeded: bool
    detail: str
    # what it printed (its last OUTPUT_KEPT bytes) or its URL answered, unscrubbed: read (APPC-28), never shown
    output: str = field(default="", repr=False)
    started: float = 0.0  # time.time() when the suite started the run: what the stand-in saw after it is this run's
    ended: bool = True  # False where it did not finish within drive.timeout: its output stops short


class ServiceDriver:
    def __init__(self, application, issuer: str, user=None, tls=None) -> None:
        self.drive, self.variables = application.drive, issuer_variables(issuer, tls and tls.ca_path)

    def session(self) -> "ServiceDriver":
        return self

    def run(self, production_trust: bool = False) -> ServiceRun:
        """One run of the service; with `production_trust` (APPC-33's run under a certificate nobody trusts), its
        command runs without the variables that turn a validation it switched off back on (as_in_production)."""
        EFFORT.service_runs += 1
        started = time.time()
        run = self._run(production_trust)
        run.started = started
        return run

    def _run(self, production_trust: bool) -> ServiceRun:
        if self.drive.mode == "url":
            try:
                response = requests.get(self.drive.url, timeout=self.drive.timeout)
            except requests.RequestException as error:
                return ServiceRun(False, f"{self.drive.url} did not answer: {type(error).__name__}")
            return ServiceRun(
                response.status_code < 400, f"{self.drive.url} answered HTTP {response.status_code}", response.text
            )
        # a signal as the command starts (a CI job cancelled the moment it ran) is deferred until it is started
        # and read, then raised in the try: raised in Popen or the reader's start, it left the command running
        process: subprocess.Popen | None = None
        environment = {**os.environ, **self.variables}
        tail = bytearray()  # the output's last OUTPUT_KEPT bytes: a command may print without end
        reader = threading.Thread(target=_keep_tail, args=(None, tail), daemon=True)
        try:
            with signals_deferred():
                process = subprocess.Popen(
                    self.drive.command,
                    shell=True,  # as drive.launch: `NAME=value program`, pipes and quotes mean what a shell does
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=as_in_production(environment) if production_trust else environment,
                    start_new_session=True,  # its background children end with it (stop_group)
                )
                reader = threading.Thread(target=_keep_tail, args=(process.stdout, tail), daemon=True)
                reader.start()
            code = process.wait(self.drive.timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:  # Ctrl-C or SIGTERM in the wait too: the command ran on after the run ended
            if process is not None:
                stop_group(process, grace=2.0)
                if reader.ident is not None:
                    reader.join(2.0)
                assert process.stdout is not None
                process.stdout.close()
        if code is None:
            return ServiceRun(
                False, f"`{self.drive.command}` did not finish within {self.drive.timeout:g} s", ended=False
            )
        printed = bytes(tail).decode(errors="replace")
        lines = printed.strip().splitlines()
        # a failed command: its error line(s) and its tail (Node.js ends with its version, the error above its
        # stack), as a failed launch is quoted; a command that succeeded: its last line, what it reported
        output = output_excerpt(printed) if code else REDACTOR.scrub(lines[-1] if lines else "")
        said = f": {output}" if output.strip() else " and printed nothing"
        if code:
            said += issuer_hint(printed, self.variables["VISMA_CONNECT_ISSUER"])
        return ServiceRun(code == 0, f"`{self.drive.command}` exited {code}{said}", printed)

    def close(self) -> None:
        pass


OUTPUT_KEPT = 64 * 1024


def _keep_tail(stream, tail: bytearray) -> None:
    """Reads `stream` to its end, keeping only its last OUTPUT_KEPT bytes in `tail`."""
    try:
        while chunk := stream.read1(65536):
            tail += chunk
            del tail[:-OUTPUT_KEPT]
    except (OSError, ValueError):
        pass  # closed under it once the command ended
