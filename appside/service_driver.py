"""Drives a service application: runs its command (or calls its URL), which makes it fetch a
token with client_credentials and call the Visma API."""

import os
import shlex
import subprocess
from dataclasses import dataclass, field

import requests

from appside.launcher import issuer_variables
from suite.secrets.redaction import REDACTOR


@dataclass
class ServiceRun:
    succeeded: bool
    detail: str
    output: str = field(default="", repr=False)  # all it printed (or its URL answered), unscrubbed: read, never shown


class ServiceDriver:
    def __init__(self, application, issuer: str, user=None, tls=None) -> None:
        self.drive, self.variables = application.drive, issuer_variables(issuer, tls and tls.ca_path)

    def session(self) -> "ServiceDriver":
        return self

    def run(self) -> ServiceRun:
        if self.drive.mode == "url":
            try:
                response = requests.get(self.drive.url, timeout=self.drive.timeout)
            except requests.RequestException as error:
                return ServiceRun(False, f"{self.drive.url} did not answer: {type(error).__name__}")
            return ServiceRun(
                response.status_code < 400, f"{self.drive.url} answered HTTP {response.status_code}", response.text
            )
        try:
            completed = subprocess.run(
                shlex.split(self.drive.command),
                capture_output=True,
                text=True,
                timeout=self.drive.timeout,
                env={**os.environ, **self.variables},
            )
        except subprocess.TimeoutExpired:
            return ServiceRun(False, f"`{self.drive.command}` did not finish within {self.drive.timeout:g} s")
        output = REDACTOR.scrub(
            (completed.stdout + completed.stderr).strip().splitlines()[-1:][0]
            if (completed.stdout + completed.stderr).strip()
            else ""
        )
        return ServiceRun(
            completed.returncode == 0,
            f"`{self.drive.command}` exited {completed.returncode}: {output}",
            completed.stdout + completed.stderr,
        )

    def close(self) -> None:
        pass
