"""The stand-in publishes http://localhost:PORT, and a client may resolve localhost to ::1 first (Node's fetch, and any
client on a system whose /etc/hosts lists ::1 first): listening on 127.0.0.1 alone, it left [::1]:PORT to whatever
other process listened there, which such a client reached instead of Visma Connect's stand-in. It listens on both,
and where another process holds [::1]:PORT it does not start (a configuration problem naming the address)."""

import errno
import socket
from pathlib import Path

import pytest
import requests

from appside.application import load_application
from appside.stand_in import start_stand_in

PORT = 14566  # of the port range this project's tests of it may use


def _native(port: int):
    return load_application("examples/native_app/application.yaml", {"ISSUER_PORT": str(port)})


def _ipv6_loopback() -> bool:
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            return False
    return True


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback: nothing can squat it")


def test_the_stand_in_answers_on_both_loopback_addresses_of_localhost():
    stand_in, _ = start_stand_in(_native(PORT))
    try:
        for host in ("127.0.0.1", "[::1]"):
            answer = requests.get(f"http://{host}:{PORT}/.well-known/openid-configuration", timeout=10)
            assert answer.json()["issuer"] == f"http://localhost:{PORT}", host
    finally:
        stand_in.stop()


def test_another_process_on_the_ipv6_loopback_port_keeps_the_stand_in_from_starting():
    with socket.socket(socket.AF_INET6) as squatter:
        squatter.bind(("::1", PORT + 1))
        squatter.listen()
        with pytest.raises(OSError, match=rf"on \[::1\]:{PORT + 1}") as refused:
            start_stand_in(_native(PORT + 1))
        assert refused.value.errno == errno.EADDRINUSE
    with socket.socket() as again:  # what it had bound on 127.0.0.1 was let go
        again.bind(("127.0.0.1", PORT + 1))


def test_a_certification_whose_ipv6_loopback_port_is_held_stops_with_a_configuration_problem_naming_it(tmp_path):
    from run import run_appside

    port = PORT + 2
    path = tmp_path / "app.yaml"
    path.write_text(Path("examples/native_app/application.yaml").read_text())
    with socket.socket(socket.AF_INET6) as squatter:
        squatter.bind(("::1", port))
        squatter.listen()
        completed = run_appside(
            f"--app={path}",
            f"--compliance={tmp_path / 'compliance.json'}",
            environ={"ISSUER_PORT": str(port), "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert f"issuer.port: cannot listen on {port}: another process is listening on it on [::1] (the issuer names " in (
        completed.stderr
    ), completed.stderr


def test_with_issuer_port_0_a_port_another_process_holds_on_the_ipv6_loopback_is_given_up_for_another(monkeypatch):
    """issuer.port 0 asks for any free port: the one free on 127.0.0.1 may be held on [::1] by another process, and
    the run stopped with "choose another port (0: any free one)", though it was 0. Another port is tried."""
    import appside.stand_in

    held, choose = PORT + 3, appside.stand_in.free_port
    given: list[int] = []
    # the system's first choice: a port free on 127.0.0.1 that another process holds on [::1]
    monkeypatch.setattr(appside.stand_in, "free_port", lambda: choose() if given else given.append(held) or held)
    with socket.socket(socket.AF_INET6) as squatter:
        squatter.bind(("::1", held))
        squatter.listen()
        stand_in, _ = start_stand_in(_native(0))
        try:
            port = int(stand_in.issuer.rsplit(":", 1)[1])
            assert given == [held] and port != held, (given, stand_in.issuer)
            for host in ("127.0.0.1", "[::1]"):
                answer = requests.get(f"http://{host}:{port}/.well-known/openid-configuration", timeout=10)
                assert answer.json()["issuer"] == stand_in.issuer, host
        finally:
            stand_in.stop()
