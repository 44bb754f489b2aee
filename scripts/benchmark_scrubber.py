"""How the secret scrubber's cost grows with the secrets a run learns.

A run learns secrets one exchange at a time and scrubs each exchange's report as it goes, so
this replays that: for N secrets, learn one, scrub one report of about 2 KB that carries it and
some earlier ones, and at the end scrub all reports once more (a whole run's output). It prints
milliseconds for N = 100 and 400 and the cost per secret; linear growth keeps that per-secret
cost flat. A second line does the same for a detection-matrix process, which writes no report
per exchange: it scrubs one report in 16 (2058 secrets learned against 133 scrubs in one 11-set
process), for N = 400 and 1600. `--against REV` also measures suite/secrets/redaction.py as it was at a
git revision. `--large` measures one scrub of a 10 MB text dense with escapes (URL-encoded, JSON-escaped,
HTML and base64 values, one token in 50 a learned one, 201 learned), as a hostile body would be.

    .venv/bin/python scripts/benchmark_scrubber.py [--against REV] [--repeat 3] [--large]
"""

import argparse
import base64
import html
import json
import secrets
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def workload(n: int) -> tuple[list[str], list[str]]:
    rng = secrets.SystemRandom()
    tokens = [
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ." + secrets.token_urlsafe(300) + "." + secrets.token_urlsafe(64)
        for _ in range(n)
    ]
    reports = []
    for i, token in enumerate(tokens):
        earlier = [tokens[rng.randrange(i + 1)] for _ in range(2)]
        reports.append(
            "POST https://connect.example/connect/token\nContent-Type: application/x-www-form-urlencoded\n\n"
            f"grant_type=refresh_token&refresh_token={earlier[0]}\n\nHTTP 200 (12 ms)\n"
            f'{{"access_token": "{token}", "token_type": "Bearer", "expires_in": 3600,\n'
            f'"error_description": "echo {earlier[1]}"}}\n' + "x" * 400
        )
    return tokens, reports


def measure(module, n: int, every: int = 1) -> float:
    """Seconds to learn n secrets, scrubbing every `every`-th report as its secret is learned."""
    tokens, reports = workload(n)
    redactor = module.Redactor()
    redactor.register("Svc-Secret-7f3a9c1e", "clients.service.client_secret")
    began = time.perf_counter()
    for i, (token, report) in enumerate(zip(tokens, reports, strict=True)):
        redactor.register(token, "access_token")
        if i % every == 0:
            assert token not in redactor.scrub(report)
    assert tokens[0] not in redactor.scrub("\n".join(reports))
    return time.perf_counter() - began


def large_text(size: int = 10_000_000) -> tuple[str, list[str]]:
    """A text of `size` characters, JSON lines of escaped values, and the secrets learned."""
    learned = [
        "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(200) + "." + secrets.token_urlsafe(64) for _ in range(200)
    ]
    learned.append("Pw9-._~+/=%41:;&?# \"'\\é漢Zq")
    lines: list[str] = []
    length = 0
    while length < size:
        value = learned[len(lines) // 50 % len(learned)] if len(lines) % 50 == 0 else secrets.token_urlsafe(30)
        line = (
            f'{{"query": "{quote(value, safe="")}&x=1", "json": {json.dumps("a/é" + value)}, '
            f'"html": "{html.escape(value)}&#233;", "base64": "{base64.b64encode(value.encode()).decode()}"}}\n'
        )
        lines.append(line)
        length += len(line)
    return "".join(lines), learned


def measure_large(module, text: str, learned: list[str]) -> float:
    redactor = module.Redactor()
    for value in learned:
        redactor.register(value, "access_token")
    redactor.scrub(text[:1000])  # builds what is pending
    began = time.perf_counter()
    scrubbed = redactor.scrub(text)
    seconds = time.perf_counter() - began
    assert not [value for value in learned if value in scrubbed]
    return seconds


def module_at(revision: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:suite/secrets/redaction.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"redaction_at_{revision}")
    exec(compile(source, f"{revision}:suite/secrets/redaction.py", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", metavar="REV", help="also measure suite/secrets/redaction.py at this git revision")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--large", action="store_true", help="one scrub of a 10 MB text instead")
    args = parser.parse_args()
    from suite.secrets import redaction

    candidates = {"working tree": redaction}
    if args.against:
        candidates[args.against] = module_at(args.against)
    if args.large:
        text, learned = large_text()
        for name, module in candidates.items():
            seconds = statistics.median(measure_large(module, text, learned) for _ in range(args.repeat))
            print(f"{name:>14}: one scrub of {len(text) / 1e6:.1f} MB, {len(learned)} secrets learned: {seconds:.2f} s")
        return
    for name, module in candidates.items():
        for kind, every, small, large in (("each report", 1, 100, 400), ("one in 16", 16, 400, 1600)):
            figures = {
                n: statistics.median(measure(module, n, every) for _ in range(args.repeat)) for n in (small, large)
            }
            per_secret = {n: seconds / n * 1000 for n, seconds in figures.items()}
            print(
                f"{name:>14}, {kind:>11}: N={small} {figures[small] * 1000:8.1f} ms   N={large} "
                f"{figures[large] * 1000:8.1f} ms   per secret {per_secret[small]:.3f} -> {per_secret[large]:.3f} ms "
                f"(x{per_secret[large] / per_secret[small]:.2f} from {small} to {large} secrets)"
            )


if __name__ == "__main__":
    main()
