"""Check a certification record: python -m suite.reports.verify reports/compliance.json [--public-key key.pub]

Recomputes the digest over the whole record and checks the Ed25519 signature when there is one;
says which field changed when the digest no longer matches. With --public-key the record must be
signed by that key (a record re-signed with someone else's key is refused).

Also checks that the verdict follows from the rules' statuses (suite.reports.record_consistency):
a record resealed after an edit holds its seal but not its verdict.

Exit status: 0 the seal holds and the verdict follows, 1 either does not, 4 the record or key
cannot be read (one line, whatever the file holds)."""

import argparse
import json
import sys

from suite.reports.record_consistency import verdict_problems
from suite.reports.record_seal import load_public_key, verify

EXIT_HOLDS, EXIT_BROKEN, EXIT_UNREADABLE = 0, 1, 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.reports.verify", description=__doc__.splitlines()[0])
    parser.add_argument("record", help="the compliance.json to check")
    parser.add_argument("--public-key", metavar="PEM", help="the organisation's Ed25519 public key")
    args = parser.parse_args(argv)
    try:
        with open(args.record, encoding="utf-8") as file:
            record = json.load(file)
        trusted = load_public_key(args.public_key) if args.public_key else None
    except (OSError, ValueError, RecursionError) as error:
        print(
            f"cannot check: {args.record}: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    if not isinstance(record, dict):
        print(f"cannot check: {args.record} is not a certification record (a JSON object)", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        problems = verify(record, trusted) + verdict_problems(record)
        if not problems:
            seal = record["seal"]
            signature = seal.get("signature")
            if signature is not None and not isinstance(signature.get("key_fingerprint"), str):
                raise TypeError("its signature has no key fingerprint")
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as error:
        print(f"cannot check: {args.record} is not a well-formed certification record ({error})", file=sys.stderr)
        return EXIT_UNREADABLE
    if problems:
        print(f"{args.record}: NOT intact")
        for problem in problems:
            print(f"  - {problem}")
        return EXIT_BROKEN
    signed = (
        f"signed by Ed25519 key {signature['key_fingerprint']}"
        + (" (the trusted key)" if trusted else "; pass --public-key to check it is your organisation's")
        if signature
        else "not signed: the digest proves no edit, not who issued it"
    )
    print(f"{args.record}: intact (sha256 {seal['digest']}), {signed}")
    print(f"verdict: {record.get('verdict')}, environment {record.get('environment')}, issuer {record.get('issuer')}")
    return EXIT_HOLDS


if __name__ == "__main__":
    sys.exit(main())
