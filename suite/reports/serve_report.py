"""Serve the HTML report on this machine only: python -m suite.reports.serve_report [DIR] [--port N]

`npx allure open` listens on every interface, which shows client ids, tenant ids and the
exchanges to anyone on the network. This binds to 127.0.0.1 alone (port 0: any free port),
serves the files of DIR (default reports/allure-report) and nothing else, until Ctrl-C. It answers
only requests whose Host names it (127.0.0.1 or localhost, with its port): a web page elsewhere
that has its own host name resolve to 127.0.0.1 (DNS rebinding) would otherwise read the report
through the browser of whoever opened that page."""

import argparse
import functools
import http.server
import sys
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class _ReportHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self) -> Any:  # SimpleHTTPRequestHandler's own: a file object, or None
        port = getattr(self.server, "server_port", None)
        if self.headers.get("Host", "").lower() not in {f"{LOOPBACK}:{port}", f"localhost:{port}"}:
            self.send_error(421, "Misdirected Request: this server answers only for 127.0.0.1 and localhost")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def make_server(directory: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_ReportHandler, directory=str(directory))
    return http.server.ThreadingHTTPServer((LOOPBACK, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.reports.serve_report", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="reports/allure-report")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: any free one)")
    args = parser.parse_args(argv)
    directory = Path(args.directory)
    if not (directory / "index.html").is_file():
        print(f"no report in {directory}: run `make conformance` (or `make report`) first", file=sys.stderr)
        return 4
    try:
        server = make_server(directory, args.port)
    except OSError as error:
        print(f"cannot listen on {LOOPBACK}:{args.port}: {error.strerror}", file=sys.stderr)
        return 4
    print(f"The report: http://{LOOPBACK}:{server.server_port}/ (this machine only; Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
