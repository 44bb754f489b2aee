"""A launch that fails shows why: the excerpt of the application's output keeps the line that states the
error, not only where it was thrown. An Auth.js app that threw at start (Node printed the throwing source
line, `Error: cannot read config/production.json`, the stack and its version) was reported with the source
line, '...' and the stack: the error's own line was left out."""

import re
import sys
import time
from pathlib import Path

import pytest

from appside.launcher import LINE_KEPT, LaunchedApplication, LaunchFailed
from appside.stand_in import free_port


def _launch_failure(tmp_path, command: str) -> str:
    launched = LaunchedApplication(command, {}, f"http://127.0.0.1:{free_port()}/", tmp_path / "application.log")
    with pytest.raises(LaunchFailed, match="exited with 1") as failed:
        launched.wait_until_ready(timeout=20)
    return str(failed.value)


def test_a_node_application_that_throws_at_start_is_named_by_its_error_line(tmp_path):
    server = tmp_path / "server.mjs"
    server.write_text(
        'const has = (d) => true\nif (has("crash-at-start")) throw new Error("cannot read config/production.json")\n'
    )
    message = _launch_failure(tmp_path, f"node {server}")
    assert "Error: cannot read config/production.json | ..." in message, message
    assert message.split(" | ")[-1].startswith("Node.js v"), message  # the tail kept


def test_the_excerpt_is_bounded_whatever_the_application_prints(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys\nprint('x' * 20000)\nfor n in range(500): print(f'ValueError: line {n} ' + 'y' * 5000)\n"
        "sys.exit(1)\n"
    )
    message = _launch_failure(tmp_path, f"{sys.executable} {script}")
    assert "ValueError: line 0 " in message and "ValueError: line 499 " in message
    assert len(message) < 8 * LINE_KEPT + 400, len(message)


def test_an_excerpt_masks_each_line_before_it_cuts_it_so_no_part_of_a_secret_is_kept():
    """A crashed command's line with a token across the LINE_KEPT cut: cut first, the token's first part
    no longer matched the token and was kept as it was."""
    import secrets

    from appside.launcher import output_excerpt
    from suite.secrets.redaction import REDACTOR

    token = "eyJ" + secrets.token_urlsafe(60)
    REDACTOR.register(token, "access_token")
    excerpt = output_excerpt("Error: refused " + "x" * (LINE_KEPT - 30) + token + "\nat main.js:1")
    assert token[:12] not in excerpt and "[access_token]" in excerpt


def test_a_console_message_cut_short_keeps_no_part_of_the_token_it_was_cut_through():
    """A console message of more than CONSOLE_MESSAGE_LENGTH characters with a token across the cut: the
    token's first part, kept in the message, would not be recognised by the scrubber."""
    import secrets

    from appside.browser_driver import CONSOLE_MESSAGE_LENGTH, bounded_console_message
    from suite.secrets.redaction import REDACTOR

    token = "eyJ" + secrets.token_urlsafe(60)
    REDACTOR.register(token, "access_token")
    kept = REDACTOR.scrub(
        bounded_console_message('console.log: {"t": "' + "x " * (CONSOLE_MESSAGE_LENGTH // 2 - 20) + token)
    )
    assert token[:12] not in kept and kept.endswith("[cut]")
    assert bounded_console_message("console.log: short") == "console.log: short"


def test_what_the_application_printed_is_shown_with_its_control_characters_visible(tmp_path):
    """An application that printed a window title, a clear-screen, a colour and a clipboard write (OSC 52) and
    exited: the exit-4 line quoting its output printed them raw, and the terminal obeyed them."""
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys\nprint('\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED\\x1b]52;c;cm0gLXJm\\x07 \\x9b31m \\u202eevil')\n"
        "sys.exit(1)\n"
    )
    message = _launch_failure(tmp_path, f"{sys.executable} {script}")
    assert "\x1b" not in message and "\x07" not in message and "\x9b" not in message and "\u202e" not in message
    assert "\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED\\x1b]52;c;cm0gLXJm\\x07 \\x9b31m \\u202eevil" in message, message


def test_an_application_that_answers_with_a_status_but_never_ends_its_page_is_told_so(tmp_path):
    """A login page that sends its status and headers, then a byte a second: the message said the
    application did not answer and to check its port and path, which were right."""
    port = free_port()
    script = tmp_path / "slow.py"
    script.write_text(
        "import http.server, time\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.send_header('Content-Type', 'text/html'); self.end_headers()\n"
        "        while True: self.wfile.write(b' '); self.wfile.flush(); time.sleep(0.5)\n"
        f"http.server.ThreadingHTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    launched = LaunchedApplication(
        f"{sys.executable} {script}", {}, f"http://127.0.0.1:{port}/login", tmp_path / "application.log"
    )
    with pytest.raises(LaunchFailed) as failed:
        launched.wait_until_ready(timeout=8)
    assert "answered at http://127.0.0.1:" in str(failed.value) and "with HTTP 200 but its page never" in str(
        failed.value
    ), failed.value
    assert "another port or path" not in str(failed.value)


def test_what_is_kept_of_an_application_that_prints_without_end_is_its_first_and_last_megabytes(tmp_path):
    """An application that printed 300 MB: all of it went to the temporary folder and into the reports
    folder's application.log (314 MB), and APPC-28 read it for minutes. The first and last OUTPUT_KEPT bytes
    are kept, with a line that says how much was left out between them and that APPC-28 did not read it."""
    from appside.launcher import OUTPUT_KEPT

    script = tmp_path / "loud.py"
    megabytes = 2 * OUTPUT_KEPT // 2**20 + 4
    script.write_text(
        "import sys\nprint('first line')\n"
        f"for n in range({megabytes} * 1024): sys.stdout.write('x' * 1023 + '\\n')\n"
        "print('last line')\n"
    )
    launched = LaunchedApplication(f"{sys.executable} {script}", {}, None, tmp_path / "application.log")
    launched.process.wait(60)
    launched.stop()
    kept = (tmp_path / "application.log").read_text()
    assert kept.startswith("first line\n") and kept.endswith("last line\n")
    assert len(kept) < 2 * OUTPUT_KEPT + OUTPUT_KEPT // 8 + 1000, len(kept)  # the tail is cut an eighth at a time
    gap = re.search(r"\n\[the suite left out (\d+) bytes of the application's output here: .*\]\n", kept)
    assert gap and int(gap[1]) + len(kept) - len(gap[0]) == megabytes * 2**20 + len("first line\nlast line\n")
    assert "APPC-28 did not read them]" in gap[0]  # no watch: the launcher alone reads nothing
    assert launched.output() == kept


@pytest.mark.parametrize("at", ["inside", "across two reads", "across the head's end", "across the tail's start"])
def test_a_secret_in_the_output_left_out_is_found_as_it_goes_wherever_it_is_cut(tmp_path, at):
    """What is left out between the first and last bytes kept is read for secrets before it goes, with the
    ends of what comes before and after it: a token across a cut is found whole."""
    from appside.launcher import KeptOutput
    from appside.steps.leaks import leaked

    token = "eyJ0eXAiOiJKV1QifQ.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl"
    kept = KeptOutput(tmp_path / "application.log", kept=4096)
    kept.watch = lambda text: leaked(text, {token: "access token"})
    position = {"inside": 4096 + 1000, "across two reads": 4096 + 2048 - 20, "across the head's end": 4096 - 20}
    output = bytearray(b"x" * 20000)
    start = position.get(at, len(output) - 4096 - 4096 // 8 - 20)  # where the tail kept begins, at most
    output[start : start + len(token)] = token.encode()
    for offset in range(0, len(output), 1024):  # as a pipe gives it
        kept._keep(bytes(output[offset : offset + 1024]))
    assert kept.left_out > 0
    if at == "across the tail's start" and token.encode() in kept.data():
        return  # kept whole: APPC-28 reads it there
    assert kept.found_left_out == {"access token"}, at


def test_a_sign_in_url_answering_404_is_not_ready_and_at_the_limit_names_the_404(tmp_path):
    """An SPA whose dev server never served its page (oidcspa's spa2-nostart): drive.sign_in_url answered 404,
    was taken as ready, and the run ended INCOMPLETE after 84 s instead of naming the page that is not there."""
    port = free_port()
    (tmp_path / "empty").mkdir()
    launched = LaunchedApplication(
        f"{sys.executable} -m http.server --bind 127.0.0.1 --directory {tmp_path / 'empty'} {port}",
        {},
        f"http://127.0.0.1:{port}/login",
        tmp_path / "application.log",
    )
    with pytest.raises(LaunchFailed) as failed:
        launched.wait_until_ready(timeout=4)
    said = str(failed.value)
    assert f"answered HTTP 404 (Not Found) at http://127.0.0.1:{port}/login until the readiness limit of 4 s" in said
    assert "drive.sign_in_url" in said, said


def test_a_sign_in_url_on_a_port_nothing_listens_on_is_a_configuration_problem_at_once(tmp_path):
    """An Apache mod_auth_openidc application's file named drive.sign_in_url on port 12803, its ready_url on 12801:
    the application was ready, every sign-in waited on the browser's chrome-error page, and the run ended after
    45 s as INCOMPLETE (exit 5) "ended on chrome-error://chromewebdata/"."""
    from run import certify_application

    nowhere = free_port()
    app = tmp_path / "application.yaml"
    app.write_text(
        Path("examples/web_app/application.yaml")
        .read_text()
        .replace(
            "  sign_in_url: http://127.0.0.1:${WEB_APP_PORT:-5081}/login",
            f"  sign_in_url: http://127.0.0.1:{nowhere}/login",
        )
        .replace("  launch: ", "  ready_url: http://127.0.0.1:${WEB_APP_PORT:-5081}/\n  launch: ")
    )
    started = time.monotonic()
    completed = certify_application(
        app, tmp_path, {"WEB_APP_CLIENT_SECRET": "s3cret-4c9e1f7b", "WEB_APP_PORT": str(free_port())}, "--rule=APPC-01"
    )
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 4, terminal[-3000:]
    assert (
        f"drive.sign_in_url: http://127.0.0.1:{nowhere}/login: connection refused: nothing listens on "
        f"127.0.0.1:{nowhere}, though the application answered at drive.ready_url http://127.0.0.1:"
    ) in terminal, terminal[-3000:]
    assert time.monotonic() - started < 40, terminal[-3000:]


def test_a_page_the_browser_could_not_load_is_said_as_the_network_error():
    from appside.browser_driver import network_error

    said = network_error(
        "Page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:12803/app/", "http://127.0.0.1:12803/app/"
    )
    assert said == (
        "the browser could not load http://127.0.0.1:12803/app/: connection refused (nothing listens on its host "
        "and port) (net::ERR_CONNECTION_REFUSED)"
    )
    assert network_error("Timeout 20000ms exceeded.", "http://127.0.0.1:12803/app/") == ""


def test_application_log_writes_terminal_escapes_as_the_terminal_shows_them_and_masks_blobs_of_secrets(tmp_path):
    """An outsider's application printed a terminal escape (a window title, colours): application.log kept the
    raw bytes, obeyed by whoever ran `cat` on it; and a reversed base64 blob of its token, readable there."""
    import base64
    import secrets
    from types import SimpleNamespace

    from appside.conftest import _keep_application_log
    from suite.secrets.redaction import REDACTOR

    token = secrets.token_urlsafe(48)
    REDACTOR.register(token, "access_token")
    blob = base64.b64encode(token.encode()).decode()[::-1]
    printed = f"\x1b]0;TITLE\x07\x1b[31mred\x1b[0m\nGET /sw.js?e={blob}\n"
    config = SimpleNamespace(
        launched=SimpleNamespace(output=lambda: printed),
        getoption=lambda name: str(tmp_path / "compliance.json"),
    )
    _keep_application_log(config)
    kept = (tmp_path / "application.log").read_text()
    assert "\x1b" not in kept and "\x07" not in kept and "\\x1b]0;TITLE\\x07\\x1b[31mred" in kept
    assert blob not in kept and "holding a secret]" in kept and kept.count("\n") == 2
