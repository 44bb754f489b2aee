"""The stand-in over HTTPS (`issuer: {tls: true}`): the suite makes a certificate authority, names
it, and tells a launched application to trust it; the reference web application (Authlib,
requests) then signs in and redeems its code over verified TLS, Chromium accepting the stand-in's
certificate alone."""

import socket
import subprocess
import sys

from run import ROOT

from appside.tls import stand_in_tls


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_a_web_application_signs_in_over_https_trusting_the_authority_the_suite_names(tmp_path):
    path = tmp_path / "application.yaml"
    path.write_text(
        (ROOT / "examples/web_app/application.yaml")
        .read_text()
        .replace("  port: ${ISSUER_PORT:-0}", "  port: ${ISSUER_PORT:-0}\n  tls: true")
    )
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WEB_APP_CLIENT_SECRET": "Tls-Secret-3f9a1c",
        "WEB_APP_PORT": _free_port(),
        "APP_SETTLE": "1",
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "appside",
            f"--app={path}",
            "--rule=APPC-08",
            "--rule=APPC-10",
            f"--compliance={tmp_path / 'compliance.json'}",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,
    )
    terminal = completed.stdout + completed.stderr
    assert "2 passed" in terminal, terminal[-3000:]
    assert "issuer https://localhost:" in terminal, terminal[:1500]
    assert f"trust the certificate authority {stand_in_tls().ca_path}" in terminal


def test_the_authority_is_kept_between_runs_and_signs_each_runs_certificate():
    first, second = stand_in_tls(), stand_in_tls()
    assert first.ca_path == second.ca_path and first.spki_sha256 != second.spki_sha256
    assert "BEGIN CERTIFICATE" in first.ca_path.read_text() and oct(first.ca_path.stat().st_mode)[-3:] == "600"
