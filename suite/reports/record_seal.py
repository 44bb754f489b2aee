"""The seal of a certification record: a SHA-256 digest over the whole record, an optional
Ed25519 signature by a key the organisation holds, and the check of both.

The digest is taken over every field of the record (issuer, environment, defects, verdict, times,
rules, waivers, whatever is added later) except the seal itself, serialised canonically (sorted
keys, no spaces, UTF-8). Anyone can recompute a digest, so only a signature proves who issued a
record; the digest alone proves that the record was not changed by accident or by someone who
did not bother to recompute it.

`fields` holds a short hash of every leaf value, only to say which field changed when the digest
no longer matches: it is not what makes the seal hold.

The signing key comes from CONFORMANCE_SIGNING_KEY (PEM text) or CONFORMANCE_SIGNING_KEY_FILE (a
PEM file), never from the repository."""

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEAL = "seal"
KEY_VARIABLE = "CONFORMANCE_SIGNING_KEY"
KEY_FILE_VARIABLE = "CONFORMANCE_SIGNING_KEY_FILE"
FIELD_HASH_LENGTH = 16  # hex digits: enough to locate a change, the digest itself is full length


class SigningKeyProblem(Exception):
    """The signing key named by the environment cannot be used."""


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(record: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != SEAL})).hexdigest()


def seal(record: dict, environ: Mapping[str, str] = os.environ) -> dict:
    """Add the seal to the record (in place) and return it; signed when a key is configured."""
    record.pop(SEAL, None)
    digest = digest_of(record)
    record[SEAL] = {"algorithm": "sha256", "digest": digest, "fields": field_hashes(record)}
    key = signing_key(environ)
    if key is not None:
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        record[SEAL]["signature"] = {
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(public).decode(),
            "key_fingerprint": fingerprint(public),
            "value": base64.b64encode(key.sign(digest.encode())).decode(),
        }
    return record


def signing_key(environ: Mapping[str, str] = os.environ) -> Ed25519PrivateKey | None:
    text, source = environ.get(KEY_VARIABLE), KEY_VARIABLE
    if not text and environ.get(KEY_FILE_VARIABLE):
        source = environ[KEY_FILE_VARIABLE]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise SigningKeyProblem(f"{KEY_FILE_VARIABLE}: cannot read {source}: {error.strerror}") from None
    if not text:
        return None
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise SigningKeyProblem(
            f"{source}: not an unencrypted PEM private key. Make one with "
            "`openssl genpkey -algorithm ed25519 -out key.pem`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyProblem(
            f"{source}: the key is not an Ed25519 key. Make one with `openssl genpkey -algorithm ed25519 -out key.pem`"
        )
    return key


def fingerprint(public_key: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")


def field_hashes(record: dict) -> dict:
    """Every leaf of the record by its path, e.g. rules[PKCE-01].scenarios[2].status."""
    leaves = {}

    def walk(path: str, value: object) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(f"{path}.{key}" if path else key, value[key])
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                walk(f"{path}[{_item_name(item, index)}]", item)
        else:
            leaves[path] = hashlib.sha256(canonical(value)).hexdigest()[:FIELD_HASH_LENGTH]

    walk("", {k: v for k, v in record.items() if k != SEAL})
    return leaves


def _item_name(item, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("rule_id"), str) and "scenarios" in item:
        return str(item["rule_id"])  # rules are named by their id, so a reader sees which rule changed
    return str(index)


def verify(record: dict, trusted_public_key: bytes | None = None) -> list[str]:
    """What is wrong with the record's seal, one sentence each; empty when it holds."""
    seal_block = record.get(SEAL)
    if not isinstance(seal_block, dict) or not isinstance(seal_block.get("digest"), str):
        return ["the record has no seal (no digest): it was not written by this suite version, or the seal was removed"]
    problems = []
    digest = digest_of(record)
    if digest != seal_block["digest"]:
        changed = _changed_fields(record, seal_block.get("fields") or {})
        problems.append(
            "the digest does not match: "
            + (
                "changed field(s): " + ", ".join(changed)
                if changed
                else "the seal's digest or its field list was edited"
            )
        )
    signature = seal_block.get("signature")
    if signature is None:
        if trusted_public_key is not None:
            problems.append("the record is not signed, but a public key was given to check its signature against")
        return problems
    try:
        public = base64.b64decode(signature["public_key"], validate=True)
        value = base64.b64decode(signature["value"], validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(value, seal_block["digest"].encode())
    except (KeyError, TypeError, ValueError):
        problems.append("the signature block is malformed (public_key and value must be base64)")
        return problems
    except InvalidSignature:
        problems.append(
            "the Ed25519 signature does not match the seal's digest: the digest was recomputed "
            "after an edit, or the signature was replaced"
        )
        return problems
    if trusted_public_key is not None and public != trusted_public_key:
        problems.append(
            f"the record is signed by key {fingerprint(public)}, not by the trusted key "
            f"{fingerprint(trusted_public_key)}"
        )
    return problems


def _changed_fields(record: dict, recorded: dict) -> list[str]:
    current = field_hashes(record)
    changed = [
        path if path in recorded else f"{path} (added)" for path in current if recorded.get(path) != current[path]
    ]
    removed = [f"{path} (removed)" for path in recorded if path not in current]
    return changed + removed


def load_public_key(path: str) -> bytes:
    """A PEM public key (or a PEM private key, whose public half is taken) as raw bytes."""
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
