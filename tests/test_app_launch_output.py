"""A launch that fails shows why: the excerpt of the application's output keeps the line that states the
error, not only where it was thrown. An Auth.js app that threw at start (Node printed the throwing source
line, `Error: cannot read config/production.json`, the stack and its version) was reported with the source
line, '...' and the stack: the error's own line was left out."""

import sys

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
