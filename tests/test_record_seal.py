"""The certification record's seal: a digest over the whole record, an optional Ed25519
signature, and `python -m suite.reports.verify`, which names the field that was edited."""

import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from run import ROOT, run_suite

from suite.reports.record_seal import field_hashes, seal, verify


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory):
    """A real record of a real run (the discovery rules, one switched off), signed by a key
    handed over in a file named by CONFORMANCE_SIGNING_KEY_FILE."""
    tmp = tmp_path_factory.mktemp("seal")
    key = Ed25519PrivateKey.generate()
    (tmp / "key.pem").write_text(_pem(key))
    (tmp / "key.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    record_path = tmp / "compliance.json"
    result = run_suite(
        "--rule=DISC",
        "--defect=discovery-missing-grant-types",
        f"--compliance={record_path}",
        "-q",
        environ={"CONFORMANCE_SIGNING_KEY_FILE": str(tmp / "key.pem")},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return tmp, json.loads(record_path.read_text())


def _verify_cli(path, *args):
    return subprocess.run(
        [sys.executable, "-m", "suite.reports.verify", str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_fresh_record_verifies_with_its_signature(signed_run):
    tmp, record = signed_run
    assert record["seal"]["signature"]["algorithm"] == "Ed25519"
    result = _verify_cli(tmp / "compliance.json", "--public-key", tmp / "key.pub")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout and "(the trusted key)" in result.stdout


def _edited(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + " (edited)"
    if value is None:
        return "edited"
    return [] if value else ["edited"]


def _edit(record, path):
    """Set the leaf at a field_hashes path such as rules[DISC-04].scenarios[0].status."""
    node, parts = record, path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = (
            next(r for r in node if r.get("rule_id") == part)
            if isinstance(node, list) and not part.isdigit()
            else node[int(part)]
            if isinstance(node, list)
            else node[part]
        )
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = _edited(node[int(last)])
    else:
        node[last] = _edited(node[last])


def test_editing_any_field_is_named_by_verify(signed_run):
    _, record = signed_run
    paths = list(field_hashes(record))
    top_level = {
        "environment",
        "issuer",
        "sandbox_defects[0]",
        "verdict",
        "started",
        "finished",
        "suite_version",
        "failed_rules[0]",
        "tls_verification",
        "counts.passed",
        "run_by.user",
    }
    assert top_level <= set(paths), sorted(top_level - set(paths))
    assert any(p.startswith("rules[DISC-04].") and p.endswith(".status") for p in paths)
    for path in paths:
        edited = json.loads(json.dumps(record))
        _edit(edited, path)
        problems = verify(edited)
        assert problems and path in problems[0], (path, problems)
        assert any("signature" in p for p in verify(_resealed_without_key(edited))), path


def _resealed_without_key(record):
    """Someone edits a field and recomputes the digest but cannot sign: the old signature fails."""
    signature = record["seal"]["signature"]
    resealed = seal(json.loads(json.dumps(record)), environ={})
    resealed["seal"]["signature"] = signature
    return resealed


def test_a_record_signed_by_another_key_is_refused_with_the_trusted_key(signed_run, tmp_path):
    tmp, record = signed_run
    other = seal(
        json.loads(json.dumps(record)), environ={"CONFORMANCE_SIGNING_KEY": _pem(Ed25519PrivateKey.generate())}
    )
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    assert _verify_cli(path).returncode == 0  # intact and signed, but by whom?
    result = _verify_cli(path, "--public-key", tmp / "key.pub")
    assert result.returncode == 1 and "not by the trusted key" in result.stdout, result.stdout


def test_removed_seal_and_unreadable_record_are_clear(tmp_path):
    path = tmp_path / "compliance.json"
    path.write_text(json.dumps({"verdict": "conformant"}))
    result = _verify_cli(path)
    assert result.returncode == 1 and "no seal" in result.stdout
    path.write_text("{not json")
    result = _verify_cli(path)
    assert result.returncode == 4 and "cannot check" in result.stderr


def test_a_bad_signing_key_stops_the_run_before_any_scenario(tmp_path):
    result = run_suite(
        "--rule=DISC-01", f"--compliance={tmp_path / 'c.json'}", "-q", environ={"CONFORMANCE_SIGNING_KEY": "not a key"}
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "CONFORMANCE_SIGNING_KEY: not an unencrypted PEM private key" in result.stdout + result.stderr
    # No record of a verdict, only one that says this run produced none (and why).
    assert json.loads((tmp_path / "c.json").read_text())["verdict"] == "no verdict: configuration problem"
