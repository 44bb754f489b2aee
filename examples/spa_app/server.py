"""Serves the reference single-page application (index.html, app.js) and the browser build of
oidc-client-ts from node_modules; everything the OAuth client does happens in the browser.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, SPA_APP_PORT,
SPA_APP_CLIENT_ID, SPA_APP_REDIRECT_PATH (its callback's path, /callback; with /, its redirect URI is its root, as
npm oidc-spa's always is: application.yaml reads the same variable); REFERENCE_APP_DEFECTS (comma-separated)
switches on the defects app.js lists.
Every path the server does not know is the application's page (its routes are in app.js)."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent.parent / "node_modules" / "oidc-client-ts" / "dist" / "browser" / "oidc-client-ts.min.js"
PORT = int(os.environ.get("SPA_APP_PORT", "5082"))
CONFIG = {
    "issuer": os.environ["VISMA_CONNECT_ISSUER"],
    "api": os.environ["VISMA_API_BASE_URL"],
    "clientId": os.environ.get("SPA_APP_CLIENT_ID", "reference-spa"),
    "redirectPath": os.environ.get("SPA_APP_REDIRECT_PATH") or "/callback",
    "defects": [d for d in os.environ.get("REFERENCE_APP_DEFECTS", "").split(",") if d],
}
FILES = {
    "/app.js": (HERE / "app.js", "text/javascript"),
    "/oidc-client-ts.min.js": (LIBRARY, "text/javascript"),
    "/token-keeper.js": (HERE / "token-keeper.js", "text/javascript"),  # the service worker's script
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/config.js":
            body, kind = f"self.SPA_CONFIG = {json.dumps(CONFIG)};".encode(), "text/javascript"  # page and worker
        elif path in FILES:
            body, kind = FILES[path][0].read_bytes(), FILES[path][1]
        else:
            body, kind = (HERE / "index.html").read_bytes(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass  # quiet: the suite records the requests that matter at the stand-in


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
