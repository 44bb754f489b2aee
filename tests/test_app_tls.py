"""The stand-in over HTTPS (`issuer: {tls: true}`): the suite makes a certificate authority, names
it, and tells a launched application to trust it; the reference web application (Authlib,
requests) then signs in and redeems its code over verified TLS, Chromium accepting the stand-in's
certificate alone."""

from run import ROOT, run_appside

from appside.stand_in import free_port
from appside.tls import stand_in_tls


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
        "WEB_APP_PORT": str(free_port()),
        "APP_SETTLE": "1",
    }
    completed = run_appside(
        f"--app={path}",
        "--rule=APPC-08",
        "--rule=APPC-10",
        f"--compliance={tmp_path / 'compliance.json'}",
        "-p",
        "no:cacheprovider",
        environ=environ,
    )
    terminal = completed.stdout + completed.stderr
    assert "2 passed" in terminal, terminal[-3000:]
    assert "issuer https://localhost:" in terminal, terminal[:1500]
    # kept in the user's cache (here the test's HOME), not in the temporary folder
    assert (
        f"trust the certificate authority {tmp_path}/.cache/visma-connect-suite/appside-ca/stand-in-ca.pem" in terminal
    )


def test_the_authority_is_kept_between_runs_and_signs_each_runs_certificate():
    first, second = stand_in_tls(), stand_in_tls()
    assert first.ca_path == second.ca_path and first.spki_sha256 != second.spki_sha256
    assert "BEGIN CERTIFICATE" in first.ca_path.read_text() and oct(first.ca_path.stat().st_mode)[-3:] == "600"
