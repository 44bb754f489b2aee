"""python -m sandbox --port N [--issuer URL] [--defect NAME ...]"""

import argparse
import contextlib
import sys

from sandbox.defects import DEFECTS, UNCHECKABLE, VARIANTS
from sandbox.registry import default_registry
from sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one")
    parser.add_argument("--issuer", help="public URL to publish as issuer, e.g. behind a reverse proxy")
    parser.add_argument(
        "--defect",
        action="append",
        default=[],
        choices=sorted({**DEFECTS, **VARIANTS, **UNCHECKABLE}),
        metavar="NAME",
        help="break one documented rule on purpose (repeatable); see --list-defects",
    )
    parser.add_argument(
        "--code-lifetime",
        type=float,
        default=300,
        metavar="SECONDS",
        help="how long an authorization code stays redeemable (default 300)",
    )
    parser.add_argument("--list-defects", action="store_true", help="list the defect switches and exit")
    args = parser.parse_args(argv)
    if args.list_defects:
        for defect in DEFECTS.values():
            print(f"{defect.name:34} {', '.join(defect.breaks):12.12} {defect.description}")
        for variant in VARIANTS.values():
            print(f"{variant.name:34} {'(allowed)':12} {variant.description}")
        for switch in UNCHECKABLE.values():
            print(f"{switch.name:34} {'(config.)':12} {switch.description}")
        return 0
    try:
        server = SandboxServer(
            default_registry(), args.defect, args.host, args.port, args.issuer, code_lifetime=args.code_lifetime
        )
    except OSError as error:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"Visma Connect sandbox listening on {server.url}, issuer {server.issuer}", flush=True)
    if args.defect:
        announce_defects(args.defect)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def announce_defects(names: list[str]) -> None:
    """A sandbox broken on purpose says so where nobody can miss it: here, in its discovery
    document (x_sandbox_deliberately_broken) and in a header of every response."""
    rule = "!" * 78
    lines = [
        rule,
        "!! DELIBERATELY BROKEN SANDBOX: it violates the Visma Connect contract on purpose.",
        "!! Defects on: " + ", ".join(sorted(set(names))),
        "!! For proving that checks fail. Never certify anything against this server.",
        rule,
    ]
    for stream in (sys.stdout, sys.stderr):
        print("\n".join(lines), file=stream, flush=True)


if __name__ == "__main__":
    sys.exit(main())
