"""python -m sandbox --port N [--issuer URL] [--defect NAME ...]"""

import argparse
import sys

from .defects import DEFECTS
from .registry import default_registry
from .server import SandboxServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one")
    parser.add_argument("--issuer", help="public URL to publish as issuer, e.g. behind a reverse proxy")
    parser.add_argument("--defect", action="append", default=[], choices=sorted(DEFECTS), metavar="NAME",
                        help="break one documented rule on purpose (repeatable); see --list-defects")
    parser.add_argument("--list-defects", action="store_true", help="list the defect switches and exit")
    args = parser.parse_args(argv)
    if args.list_defects:
        for defect in DEFECTS.values():
            print(f"{defect.name:34} {', '.join(defect.breaks):12.12} {defect.description}")
        return 0
    try:
        server = SandboxServer(default_registry(), args.defect, args.host, args.port, args.issuer)
    except OSError as error:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"Visma Connect sandbox listening on {server.url}, issuer {server.issuer}", flush=True)
    if args.defect:
        print(f"defects on: {', '.join(args.defect)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
