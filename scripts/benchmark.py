"""How fast the suite is, measured against what it must cost: python scripts/benchmark.py
[--rounds N] [--only contract,sign-in,conformance,matrix,app] [--against CHECKOUT]

contract: starts one sandbox (`python -m sandbox`, with the code lifetime environments/sandbox.yaml
declares) and runs, against it, in alternation:
- the suite (`python -m pytest`, every feature) with an environment file naming that sandbox;
- a raw replay of the same exchanges: a plain `requests` loop in its own process that sends the
  requests the suite sent (recorded once beforehand), in the same order, with the same clients and
  one `requests.Session` wherever the suite had one, taking codes and tokens from its own
  responses, with no checks and no reporting; where the suite waited (the contract's own waits:
  CODE-04 lets the declared code lifetime pass since its code came back, at the start of the
  run), it waits until as long after its own first exchange as the suite's wait ended after the
  suite's (being faster, the replay waits longer there: its code is as old when redeemed);
each for the whole contract once (1x), four times in one run (4x, pytest `--keep-duplicates` with
the feature module named four times) and for nothing (start cost: no scenario selected).
It prints medians of wall and CPU time (user + system of that process; the sandbox's own process
is not counted on either side), the suite/raw ratios with and without the contract's waits (what
each side slept), and the milliseconds per exchange at 1x and 4x, after the start cost and the waits: equal figures
mean cost linear in the number of exchanges.

sign-in: the median time of one sign-in (authorization request to caught callback) of the
browser method (Chromium, environments/sandbox-browser.yaml) and of the form method, in one process.

conformance: `make conformance` (the suite and the HTML report) in a scratch copy of the
checkout (so reports/ here is left alone), after set-up.

matrix: the detection matrix (scripts/detection_matrix.py's run) with a quarter, half and all of
the switches: seconds per switch between those points; equal figures mean linear growth.

app: `make certify-app`'s run (`python -m appside`, without the HTML report) on each reference
application (web, spa, service: clean, with a fresh secret of every character class), wall time
and CPU time median of the rounds and the work each run counted (appside.effort: sign-ins, service runs,
seconds of fixed waits summed one by one, browser launches, stand-in starts), which the load does
not change, and the wall seconds of the sessions made at once (appside.concurrent), which it does. The
CPU time is user + system of the run's whole process tree (the suite, Playwright's driver, every Chromium
process, the application): what a loaded machine (CI's 2 cores) pays for a certification, which its wall
time hides when others' work holds it up. With --against CHECKOUT (another checkout of the project, e.g.
`git worktree add /tmp/base main`) the same runs of that checkout alternate with this one's, and the ratios
of the medians are printed; the rules each run passed and failed must be the same on both sides.

The machine's load average is printed with the figures: compare ratios from one run only."""

import argparse
import contextlib
import ctypes
import dataclasses
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
FEATURES = "features/test_features.py"
NOTHING = "--rule=NO-SUCH-RULE"  # selects no scenario: what the suite costs before any exchange


PARTS = ("contract", "sign-in", "conformance", "matrix", "app")
APP_NAMES = ("web", "spa", "service")  # the app part's reference applications (appside.matrix.REFERENCE_APPS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5; the median is shown)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"which parts, of {', '.join(PARTS)} (default all)")
    parser.add_argument(
        "--against", metavar="CHECKOUT", help="app: another checkout whose runs alternate with this one's"
    )
    parser.add_argument("--replay", metavar="TRACE", help=argparse.SUPPRESS)  # the raw side, in its own process
    parser.add_argument("--sign-ins", type=int, help=argparse.SUPPRESS)  # the sign-in part, in its own process
    args = parser.parse_args()
    if args.replay:
        print(replay(Path(args.replay))[1])  # the seconds it slept, for the figures without waits
        return 0  # no checks on this side: the trace was replayed and compared once, untimed
    if args.sign_ins:
        print(json.dumps(time_sign_ins(args.sign_ins)))
        return 0
    parts = [part for part in args.only.split(",") if part]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        if "contract" in parts:
            benchmark(Path(tmp), args.rounds)
        if "sign-in" in parts:
            benchmark_sign_ins(args.rounds)
        if "conformance" in parts:
            benchmark_conformance(Path(tmp), args.rounds)
        if "matrix" in parts:
            benchmark_matrix()
        if "app" in parts:
            benchmark_app(Path(tmp), args.rounds, Path(args.against).resolve() if args.against else None)
    return 0


def benchmark(tmp: Path, rounds: int) -> int:
    sandbox, issuer = start_sandbox()
    try:
        environment, environ = write_environment(tmp, issuer)
        suite_args = {"1x": [FEATURES], "4x": ["--keep-duplicates"] + [FEATURES] * 4, "start": [NOTHING]}
        traces, exchanges, waits = {}, {}, {}
        for name, selection in suite_args.items():  # recorded once, not timed
            traces[name] = tmp / f"{name}.jsonl"
            run_suite(environment, selection, environ, tmp, record=traces[name])
            exchanges[name], waits[name] = _exchanges_and_waits(traces[name])
            if replay(traces[name])[0]:
                raise SystemExit(f"the raw replay of {name} did not get the answers the suite got")
        load_before = os.getloadavg()
        timings = {(side, name): [] for side in ("suite", "raw") for name in suite_args}
        for _ in range(rounds):
            for name, selection in suite_args.items():
                timings["suite", name].append((*run_suite(environment, selection, environ, tmp), waits[name]))
                timings["raw", name].append(run_raw(traces[name]))
        load_after = os.getloadavg()
    finally:
        sandbox.terminate()
        sandbox.wait()
    print_figures(timings, exchanges, waits, rounds, load_before, load_after)


def _exchanges_and_waits(trace: Path) -> tuple[int, float]:
    lines = [json.loads(line) for line in trace.open(encoding="utf-8")]
    return sum("sleep" not in line for line in lines), sum(line.get("sleep", 0) for line in lines)


def start_sandbox():
    """The sandbox as `environments/sandbox.yaml` has the suite start it (code lifetime included)."""
    import yaml

    raw = yaml.safe_load((ROOT / "environments" / "sandbox.yaml").read_text(encoding="utf-8"))
    lifetime = raw["expectations"]["authorization_code_lifetime"]
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--code-lifetime", str(lifetime)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = sandbox.stdout.readline()  # "... listening on URL, issuer URL"
    if "issuer" not in line:
        sandbox.kill()
        raise SystemExit(f"the sandbox did not start: {line.strip()}")
    return sandbox, line.rsplit("issuer", 1)[1].strip()


def write_environment(tmp: Path, issuer: str):
    """environments/sandbox.yaml, pointed at the running sandbox: a server the suite does not start.
    Its secrets (the sandbox's own) go through variables, as for any server the suite did not start."""
    import yaml

    from suite.configuration.environment_schema import SECRET_KEYS

    raw = yaml.safe_load((ROOT / "environments" / "sandbox.yaml").read_text(encoding="utf-8"))
    del raw["sandbox"]
    raw["issuer"] = issuer
    environ = dict(os.environ)

    def by_variable(node, where):
        for key, value in node.items():
            if isinstance(value, dict):
                by_variable(value, f"{where}_{key}")
            elif key in SECRET_KEYS:
                variable = f"BENCHMARK{where}_{key}".upper()
                environ[variable], node[key] = value, f"${{{variable}}}"

    by_variable(raw, "")
    path = tmp / "benchmark.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path, environ


def run_suite(environment: Path, selection, environ, tmp: Path, record: Path | None = None):
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        f"--env={environment}",
        f"--compliance={tmp / 'compliance.json'}",
        *selection,
    ]
    environ = dict(environ)
    if record:
        command[3:3] = ["-p", "exchange_recorder"]
        environ.update(BENCHMARK_TRACE=str(record), PYTHONPATH=str(ROOT / "scripts"))
    wall, cpu, code = timed(command, environ)
    if code not in (0, 5):  # 5: the start-cost run selects nothing
        raise SystemExit(
            f"the suite did not pass against the benchmark's sandbox (exit {code}): {' '.join(map(str, command))}"
        )
    return wall, cpu


def run_raw(trace: Path):
    """Wall time, CPU time and the seconds the replay slept."""
    with tempfile.TemporaryFile("w+") as output:
        wall, cpu, code = timed([sys.executable, __file__, "--replay", str(trace)], dict(os.environ), output)
        output.seek(0)
        slept = float(output.read().strip() or 0)
    if code != 0:
        raise SystemExit(f"the raw replay failed (exit {code})")
    return wall, cpu, slept


def timed(command, environ, output=subprocess.DEVNULL):
    """Wall time and CPU time (user + system) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, process.returncode


def replay(trace: Path) -> tuple[int, float]:
    """The raw side: the recorded requests, sent again with plain requests. Values the server issued
    (codes in redirects, tokens in JSON) are swapped for the ones it issues this time. Returns how
    many answers had another status than the suite got (checked once, before the timed rounds),
    and the seconds it slept."""
    differences, slept, first = 0, 0.0, None
    import requests

    sessions: dict[int, requests.Session] = {}
    issued: dict[str, str] = {}  # recorded value -> this replay's value
    for line in trace.open(encoding="utf-8"):
        sent = json.loads(line)
        if "sleep" in sent:  # a wait the contract imposes: at the same point, until as long after the start
            wait = max(0.0, sent["until"] - (time.monotonic() - (first or time.monotonic())))
            time.sleep(wait)
            slept += wait
            continue
        first = first or time.monotonic()
        session = sessions.setdefault(sent["session"], requests.Session())
        url, body = _swap(sent["url"], issued), _swap(sent["body"], issued)
        headers = {
            k: _swap(v, issued) for k, v in sent["headers"].items() if k.lower() not in ("cookie", "content-length")
        }  # the session keeps its own cookies
        response = session.request(sent["method"], url, data=body, headers=headers, allow_redirects=False, timeout=30)
        differences += response.status_code != sent["status"]
        for recorded, now in zip(  # an answer that now differs issues fewer values: those it has are swapped
            _issued_values(sent["location"], sent["json"]),
            _issued_values(response.headers.get("Location"), _json_of(response)),
            strict=False,
        ):
            if recorded != now:
                issued[recorded] = now
    return differences, slept


def _swap(text, issued):
    if not text:
        return text
    for recorded, now in issued.items():
        if recorded in text:
            text = text.replace(recorded, now)
    return text


def _issued_values(location, body) -> list[str]:
    values = []
    if location:
        parts = urlsplit(location)
        values += [v for _, v in parse_qsl(parts.query) + parse_qsl(parts.fragment) if len(v) >= 8]
    if body:
        values += [v for _, v in sorted(body.items()) if isinstance(v, str) and len(v) >= 8]
    return values


def _json_of(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def print_figures(timings, exchanges, waits, rounds, load_before, load_after):
    """timings: (side, run) -> [(wall, CPU, seconds slept)]. The suite's sleeps are those of its
    recorded run; the replay reports its own, longer where it waits for a code the suite let age
    while it worked."""
    median = {
        key: (
            statistics.median(w for w, _, _ in runs),
            statistics.median(c for _, c, _ in runs),
            statistics.median(w - s for w, _, s in runs),
        )
        for key, runs in timings.items()
    }
    print(f"Contract: suite against a raw requests replay, same sandbox, {rounds} alternating rounds, medians")
    print(
        f"{'run':40} {'suite wall':>10} {'raw wall':>9} {'ratio':>6} {'w/o waits':>9} "
        f"{'suite CPU':>10} {'raw CPU':>8} {'ratio':>6}"
    )
    labels = {"1x": "whole contract (1x)", "4x": "whole contract 4 times (4x)", "start": "start, no scenario"}
    for name, label in labels.items():
        (sw, sc, sa), (rw, rc, ra) = median["suite", name], median["raw", name]
        print(
            f"{label + f', {exchanges[name]} exchanges':40} {sw:9.2f}s {rw:8.2f}s {sw / rw:6.2f} "
            f"{sa / ra:9.2f} {sc:9.2f}s {rc:7.2f}s {sc / rc:6.2f}"
        )
    print(
        f"(w/o waits: the wall ratio once the contract's own waits, what each side slept (the suite "
        f"{waits['1x']:.1f} s per contract), are taken out)"
    )
    for side in ("suite", "raw"):
        per = {}
        for name in ("1x", "4x"):
            work = exchanges[name] - exchanges["start"]
            wall = median[side, name][2] - median[side, "start"][0]
            cpu = median[side, name][1] - median[side, "start"][1]
            per[name] = (1000 * wall / work, 1000 * cpu / work)
        print(
            f"{side:5} ms per exchange after the start cost and the waits: 1x {per['1x'][0]:.2f} wall / "
            f"{per['1x'][1]:.2f} CPU, 4x {per['4x'][0]:.2f} wall / {per['4x'][1]:.2f} CPU "
            f"(4x/1x wall {per['4x'][0] / per['1x'][0]:.2f})"
        )
    print(_load(load_before, load_after))


def _load(before, after) -> str:
    return f"Load average (1 min) {before[0]:.1f} before, {after[0]:.1f} after, on {os.cpu_count()} cores"


def benchmark_sign_ins(rounds: int) -> None:
    """Sign-ins of both methods in a process of their own (as in a suite run: one browser for all)."""
    load_before = os.getloadavg()
    completed = subprocess.run(
        [sys.executable, __file__, "--sign-ins", str(max(rounds, 5) * 4)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the sign-in benchmark failed: {(completed.stderr or completed.stdout).strip()[-2000:]}")
    times = json.loads(completed.stdout.strip().splitlines()[-1])
    from suite.wire.browser import chromium_path

    browser, form = (statistics.median(times[m]) * 1000 for m in ("browser", "form"))
    print(
        f"Sign-in, authorization request to caught callback, median of {len(times['browser'])} "
        f"(after a first one that starts the browser): browser {browser:.0f} ms, form {form:.0f} ms, "
        f"browser/form {browser / form:.1f} (the browser: {chromium_path()})"
    )
    print(_load(load_before, os.getloadavg()))


def time_sign_ins(count: int) -> dict:
    """Seconds per sign-in of the spa client (PKCE S256, login and consent pages) against the
    embedded sandbox, for the browser method and the form method; each must reach the callback
    after signing in, or the figure would time something else."""
    from suite.configuration.environment import load_environment
    from suite.wire.authorization import authorization_url
    from suite.wire.embedded_sandbox import start_sandbox
    from suite.wire.http import HttpClient
    from suite.wire.login import login_method
    from suite.wire.login.browser import close_browser
    from suite.wire.scenario import ScenarioState
    from suite.wire.server import fetch_discovery

    environment = load_environment("sandbox-browser")
    sandbox = start_sandbox(environment)
    environment.issuer = sandbox.issuer
    times = {}
    try:
        discovery = fetch_discovery(environment)
        for method in ("browser", "form"):
            environment = dataclasses.replace(environment, login=dataclasses.replace(environment.login, method=method))
            times[method] = []
            for _ in range(count + 1):
                state = ScenarioState(
                    http=HttpClient(environment.http, environment.issuer), client=environment.clients["spa"]
                )
                url = authorization_url(state, discovery)
                started = time.perf_counter()
                outcome = login_method(environment, HttpClient(environment.http)).authorize(
                    url, state.client.redirect_uri
                )
                times[method].append(time.perf_counter() - started)
                if outcome.kind != "callback" or not outcome.signed_in or "code" not in outcome.query_params:
                    raise SystemExit(f"the {method} sign-in did not end at the callback after signing in: {outcome}")
            del times[method][0]  # the first starts the browser (or opens the connections)
    finally:
        close_browser()
        sandbox.stop()
    return times


def benchmark_conformance(tmp: Path, rounds: int) -> None:
    """`make conformance` as a user runs it, after set-up, in a copy of the checkout whose .venv
    and node_modules are this one's: the copy's reports/ takes the run's reports."""
    copy = tmp / "checkout"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)  # with its time, so make sees the set-up as done
    for shared in (".venv", "node_modules"):
        (copy / shared).symlink_to(ROOT / shared)
    load_before = os.getloadavg()
    walls, reports = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        # -o: the set-up is done (the shared .venv may be older than this checkout's requirements.txt
        # when it is a git worktree's); what is timed is the run and the report
        completed = subprocess.run(
            ["make", "-s", "-o", ".venv/.installed", "conformance"],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=600,
        )
        walls.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise SystemExit(
                f"make conformance failed (exit {completed.returncode}): "
                f"{(completed.stdout + completed.stderr)[-2000:]}"
            )
        reports += (copy / "reports" / "allure-report" / "index.html").exists()
    if reports != rounds:
        raise SystemExit("make conformance did not write the HTML report")
    print(
        f"make conformance (suite and HTML report, after set-up): median {statistics.median(walls):.2f} s "
        f"of {rounds}, range {min(walls):.2f}-{max(walls):.2f} s"
    )
    print(_load(load_before, os.getloadavg()))


def benchmark_matrix() -> None:
    """The detection matrix with a quarter, half and all of the switches, one run each."""
    from sandbox.defects import DEFECTS
    from suite.matrix.detection import run_matrix

    names = sorted(DEFECTS)
    load_before = os.getloadavg()
    points = []
    for size in (len(names) // 4, len(names) // 2, len(names)):
        started = time.perf_counter()
        rows = run_matrix(names[:size])
        points.append((size, time.perf_counter() - started))
        if any(row.exit_code not in (0, 1) for row in rows):
            raise SystemExit(f"the detection matrix of {size} switches did not run: {rows[0]}")
    print("Detection matrix (2 suite runs side by side): " + ", ".join(f"{n} switches {t:.1f} s" for n, t in points))
    marginal = [(t2 - t1) / (n2 - n1) for (n1, t1), (n2, t2) in itertools.pairwise(points)]
    print(
        f"seconds per added switch: {marginal[0]:.2f} (from {points[0][0]} to {points[1][0]}), "
        f"{marginal[1]:.2f} (from {points[1][0]} to {points[2][0]}); equal figures: linear"
    )
    print(_load(load_before, os.getloadavg()))


def benchmark_app(tmp: Path, rounds: int, against: Path | None) -> None:
    """Each reference application certified by this checkout (and `against`), in alternation."""
    from appside.matrix import REFERENCE_APPS

    apps = {name: REFERENCE_APPS[name] for name in APP_NAMES}
    sides = {"this": ROOT, **({"against": against} if against else {})}
    adopt_orphans()
    load_before = os.getloadavg()
    walls: dict[tuple[str, str], list[float]] = {(side, app): [] for side in sides for app in apps}
    cpus: dict[tuple[str, str], list[float]] = {(side, app): [] for side in sides for app in apps}
    work: dict[tuple[str, str], str] = {}
    verdicts: dict[str, dict[str, set]] = {}
    for round_number in range(rounds):
        for app in apps.values():
            for side, checkout in sides.items():
                wall, cpu, counts, rules = certify_app(checkout, app, tmp / f"{side}-{app.name}-{round_number}.json")
                walls[side, app.name].append(wall)
                cpus[side, app.name].append(cpu)
                work[side, app.name] = counts
                verdicts.setdefault(app.name, {}).setdefault(side, set()).add(rules)
    for name in apps:
        seen = {side: sorted(rules) for side, rules in verdicts[name].items()}
        if any(len(rules) != 1 for rules in seen.values()):
            raise SystemExit(f"the {name} application's verdicts differ between runs of one checkout: {seen}")
        only, shared = _rules_apart({side: rules[0] for side, rules in seen.items()})
        if len({str(verdict) for verdict in shared.values()}) != 1:
            raise SystemExit(f"the {name} application's verdicts differ between the checkouts: {shared}")
        line = f"certify-app {name}: " + ", ".join(
            f"{side} median {statistics.median(walls[side, name]):.1f} s (range {min(walls[side, name]):.1f}-"
            f"{max(walls[side, name]):.1f}), CPU {statistics.median(cpus[side, name]):.1f} s (range "
            f"{min(cpus[side, name]):.1f}-{max(cpus[side, name]):.1f}) [{work[side, name]}]"
            for side in sides
        )
        if against:
            ratio = statistics.median(walls["this", name]) / statistics.median(walls["against", name])
            cpu_ratio = statistics.median(cpus["this", name]) / statistics.median(cpus["against", name])
            line += f"; this/against wall {ratio:.2f}, CPU {cpu_ratio:.2f}"
        print(
            line
            + f"; {rounds} round(s), same verdicts"
            + "".join(f"; rules only {side} has: {', '.join(ids)}" for side, ids in only.items() if ids)
        )
    print(_load(load_before, os.getloadavg()))


def _rules_apart(verdicts: dict[str, tuple]) -> tuple[dict[str, list[str]], dict[str, list]]:
    """Each side's verdict ((scenario name, status), ...) as the rules both sides have judged it (each
    rule's statuses, by its id: a scenario's title may be reworded), and the rules only one side has (a
    rule added since the other checkout): only the rules both have must have the same verdicts."""
    by_rule = {
        side: {
            rule: sorted(status for scenario, status in verdict if scenario.split()[0] == rule)
            for rule in {scenario.split()[0] for scenario, _ in verdict}
        }
        for side, verdict in verdicts.items()
    }
    common = set.intersection(*(set(rules) for rules in by_rule.values()))
    only = {side: sorted(set(rules) - common) for side, rules in by_rule.items()}
    return only, {side: sorted((rule, rules[rule]) for rule in common) for side, rules in by_rule.items()}


def certify_app(checkout: Path, app, record: Path) -> tuple[float, float, str, tuple]:
    """Wall seconds and CPU seconds (its whole process tree's: children_cpu) of one certification run in `checkout`,
    its work summary and the rules it passed and failed (the verdict the two sides must agree on)."""
    from appside.matrix import special_secret

    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "REFERENCE_APP_DEFECTS": ""}
    environ.pop("APP_SETTLE", None)  # the settle time the application file gives, as make certify-app has it
    for variable in app.variables:
        environ[variable] = _free_port() if variable.endswith("_PORT") else special_secret()
    command = [sys.executable, "-m", "appside", f"--app={app.application_file}", f"--compliance={record}", "-q"]
    started, cpu_before = time.perf_counter(), children_cpu()
    completed = subprocess.run(command, cwd=checkout, env=environ, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    reap_orphans()
    cpu = children_cpu() - cpu_before
    if completed.returncode != 0 or not record.exists():
        raise SystemExit(
            f"certifying the {app.name} application in {checkout} did not pass (exit {completed.returncode}): "
            f"{(completed.stdout + completed.stderr)[-2000:]}"
        )
    from appside.effort import SUMMARY_PREFIX

    summary = [line for line in completed.stdout.splitlines() if line.startswith(SUMMARY_PREFIX)]
    counts = summary[-1].removeprefix(SUMMARY_PREFIX).strip() if summary else "work not counted"
    rules = json.loads(record.read_text())["rules"]
    return wall, cpu, counts, tuple(sorted((s["name"], s["status"]) for r in rules for s in r["scenarios"]))


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def adopt_orphans() -> None:
    """This process adopts its descendants whose parent ended before them (Linux), instead of init: a Chromium
    process that outlives Playwright's driver is waited for here, and its CPU time counted (children_cpu)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans(bound: float = 10.0) -> None:
    """Waits for the adopted descendants of a run that ended (at most `bound` seconds), so that their CPU time
    is counted."""
    until = time.monotonic() + bound
    while time.monotonic() < until:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # none left
            return
        if not pid:
            time.sleep(0.1)


def children_cpu() -> float:
    """User + system seconds of every descendant waited for so far: each process adds its own waited-for children's
    to its own when it is waited for, so a run's subprocess brings its whole tree's (Chromium's renderers, through
    its zygote, browser process and Playwright's driver)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _free_port() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
