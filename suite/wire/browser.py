"""Debian's Chromium under Playwright: the one real browser the suite uses (Playwright's own
browser download does not work on the machines this runs on)."""

import contextlib
import os
import re
import shutil
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is imported where a browser is started: it loads slowly
    from playwright.sync_api import Browser, Playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    # its compositor as a thread of the browser process, not a GPU process of its own: the same drawing (software,
    # without a GPU), one process fewer to start per browser (measured: a web application's certification 7.24 ->
    # 7.00 CPU-s, 3 rounds in alternation)
    "--in-process-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium calls home at start-up; on a closed network that only adds noise.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # What a page can read to tell a browser driven by a program from a person's (navigator.webdriver is
    # true without it): an application that checks its callback only for robots would fool the suite
    "--disable-blink-features=AutomationControlled",
]


def chromium_path() -> str | None:
    """Debian's headless shell (package chromium-headless-shell) where it is installed: the same
    Chromium without the desktop browser's window, tabs and their per-navigation bookkeeping, which
    cost the browser process more CPU than the rest of a sign-in (0.2 s of CPU a sign-in against
    0.09 s; median sign-in 390 ms against 249 ms at a load of 3.5 on 2 cores). Else the desktop
    Chromium in headless mode; $CHROMIUM names another."""
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def launch_chromium(playwright: "Playwright", extra_flags: Iterable[str] = ()) -> "Browser":
    path = chromium_path()
    if path is None:
        raise RuntimeError(
            "Chromium is not installed: apt-get install chromium-headless-shell "
            "(or chromium, or set CHROMIUM=/path/to/chrome)"
        )
    from playwright.sync_api import Error as PlaywrightError

    from suite.wire.http import EnvironmentProblem

    args = CHROMIUM_FLAGS + list(extra_flags)
    try:
        return playwright.chromium.launch(executable_path=path, args=args, headless=True)
    except PlaywrightError as error:
        if not crashed_at_start(str(error)):
            raise  # a wrong path, a flag it does not know: said as it is
    # Once may be the machine's moment (seen under load: a general protection fault in its libc); twice is no chance
    try:
        return playwright.chromium.launch(executable_path=path, args=args, headless=True)
    except PlaywrightError as error:
        crash = crashed_at_start(str(error))
        if not crash:
            raise
        raise EnvironmentProblem(
            f"Chromium ({path}) crashed as it started, twice ({crash}): the machine's problem, not what is under "
            "test. Run again; if it keeps crashing, check the machine's free memory or set CHROMIUM to another build"
        ) from None


_CRASHES = ("Segmentation fault", "Aborted", "Illegal instruction", "Bus error", "Trace/breakpoint trap")


def crashed_at_start(said: str) -> str:
    """How Chromium's process ended as Playwright launched it, where a signal ended it ("Segmentation fault",
    "SIGSEGV"), or "" where the launch failed otherwise (a wrong path, a flag it does not know: an exit code)."""
    if "Target page, context or browser has been closed" not in said:
        return ""
    for line in said.splitlines():
        if "[err]" in line and any(crash in line for crash in _CRASHES):
            return line.split("[err]", 1)[1].strip()
    signal = re.search(r"signal=(SIG[A-Z]+)", said)
    return signal.group(1) if signal else ""


def person_user_agent(browser: "Browser") -> str:
    """The User-Agent of a person's desktop Chrome of the same version as `browser`: a headless
    Chromium says "HeadlessChrome/<version>", which an application could treat apart from its users'
    browsers. As Chrome does since its User-Agent reduction, only the major version is given."""
    major = browser.version.split(".")[0]
    return f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"


def stop_chromium(flag: str) -> int:
    """Kills (SIGKILL) this user's processes started with `flag` in their command line: a Chromium
    launched with a flag no other has (its OriginFence's proxy, which names the fence's own port),
    and the wrapper script Debian starts it through. Its other processes end with it. How many."""
    stopped = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                arguments = cmdline.read().split(b"\0")
            if flag.encode() in arguments and os.stat(f"/proc/{entry}").st_uid == os.getuid():
                os.kill(int(entry), signal.SIGKILL)
                stopped += 1
        except OSError:  # gone meanwhile
            continue
    return stopped


BROWSER_MEMORY_LIMIT = 2 * 2**30  # bytes: a sign-in's Chromium holds 0.3-0.6 GiB; a 3 GB login page took 2.6 GB


def chromium_roots(flag: str) -> list[int]:
    """This user's processes started with `flag` in their command line (see stop_chromium)."""
    roots = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if flag.encode() in cmdline.read().split(b"\0") and os.stat(f"/proc/{entry}").st_uid == os.getuid():
                    roots.append(int(entry))
        except OSError:  # gone meanwhile
            continue
    return roots


def descendants(roots: Iterable[int]) -> list[int]:
    """The processes and every process below them (a Chromium's renderers, GPU and utility processes),
    from the kernel's lists of each thread's children: no scan of /proc."""
    found: list[int] = []
    waiting = list(roots)
    while waiting:
        pid = waiting.pop()
        if pid in found:
            continue
        found.append(pid)
        try:
            for thread in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{thread}/children", "rb") as children:
                    waiting.extend(int(child) for child in children.read().split())
        except OSError:  # gone meanwhile
            continue
    return found


def private_memory(pids: Iterable[int]) -> int:
    """The memory the processes hold for themselves, in bytes: resident pages less those backed by a file
    or shared memory (/proc/PID/statm), so that Chromium's shared libraries are not counted in each of
    its processes; what a page fills (its document, its scripts' heap) is all private."""
    page = os.sysconf("SC_PAGE_SIZE")
    held = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                _, resident, shared = (int(field) for field in statm.read().split()[:3])
            held += (resident - shared) * page
        except (OSError, ValueError):
            continue
    return held


class MemoryBound:
    """Chromium's memory is no HTTP client's body limit: a login page of 3 GB, streamed, had its renderer
    hold 1.8 GB and the browser 2.6 GB before the sign-in's deadline came. A thread that looks at the
    private memory of the Chromium launched with `flag` (its processes and theirs) every LOOK seconds
    and, past `limit` bytes, calls `exceeded` with what they held; `exceeded` stops that Chromium.
    Chromium is found by its flag once, and again only after it was stopped and launched anew."""

    LOOK = 0.5
    SEARCH = 5.0  # seconds at least between two searches for a Chromium not (or no longer) found

    def __init__(self, flag: str, exceeded: Callable[[int], None], limit: int = BROWSER_MEMORY_LIMIT) -> None:
        self.flag, self.exceeded, self.limit = flag, exceeded, limit
        self.peak = 0
        self._roots: list[int] = []
        self._searched = 0.0  # time.monotonic() of the last search of /proc for the flag (30-80 ms of CPU)
        self._closed = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="browser memory").start()

    def _watch(self) -> None:
        while not self._closed.wait(self.LOOK):
            gone = not any(os.path.exists(f"/proc/{root}") for root in self._roots)
            if gone and time.monotonic() - self._searched > self.SEARCH:
                self._roots, self._searched = chromium_roots(self.flag), time.monotonic()
            held = private_memory(descendants(self._roots))
            self.peak = max(self.peak, held)
            if held > self.limit:
                self.exceeded(held)
                self._roots = []

    def said(self, held: int) -> str:
        return (
            f"Chromium's processes held {held / 2**30:.1f} GiB of memory, past the suite's bound of "
            f"{self.limit / 2**30:g} GiB"
        )

    def close(self) -> None:
        self._closed.set()


class OriginFence:
    """The browser's one way out: a SOCKS5 proxy on loopback that Chromium must use for every
    connection, loopback ones included, and that opens only those to the hosts and ports `allowed`
    answers yes for (`carries` tells its connections to a server by their address, as the server sees
    it). Request interception (Playwright's routes) sees what pages and dedicated
    workers ask for; a shared worker's requests and a worker's WebSocket pass beside it, and a
    preconnect or a DNS lookup is no request at all. None of them passes this: whatever a page or
    anything it starts sends, it leaves the browser only towards an allowed origin. `refused` is
    called with the host and port of each connection refused."""

    def __init__(self, allowed: Callable[[str, int], bool], refused: Callable[[str, int], None]) -> None:
        self.allowed, self.refused = allowed, refused
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._open: set[tuple[str, int]] = set()  # (host, port) of each connection it opened on the browser's behalf
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def flags(self) -> list[str]:
        port = self._listener.getsockname()[1]
        # Chromium sends loopback addresses past any proxy unless told not to (<-loopback>); with
        # socks5 it leaves name resolution to the proxy, so no name is looked up for a refused host.
        # WebRTC sends UDP (a STUN or TURN server's packets carry the username a page chose: the
        # password, if it likes) past the proxy unless its policy forbids UDP that is not proxied;
        # a SOCKS5 proxy carries none, so none is sent. The headless shell takes the policy from the
        # --force- flag only, the desktop Chromium from the other only (measured with each: a page's
        # TURN request over UDP reached its server with the password unless its flag was given, and
        # nothing did with both). TURN over TCP meets the fence like any connection.
        return [
            f"--proxy-server=socks5://127.0.0.1:{port}",
            "--proxy-bypass-list=<-loopback>",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        ]

    def carries(self, address: tuple) -> bool:
        """A connection from `address` ((host, port), as the server it reached sees its client) is one this fence
        opened for the browser: a server can tell the browser's connections from other programs' on loopback."""
        return tuple(address[:2]) in self._open

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(10)
            _, methods = _read(client, 2)
            _read(client, methods)
            client.sendall(b"\x05\x00")  # no authentication
            _, command, _, kind = _read(client, 4)
            if kind == 1:
                host = socket.inet_ntop(socket.AF_INET, _read(client, 4))
            elif kind == 4:
                host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
            else:
                host = _read(client, _read(client, 1)[0]).decode("idna").lower()
            port = struct.unpack(">H", _read(client, 2))[0]
            if command != 1 or not self.allowed(host, port):
                client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # connection not allowed by ruleset
                self.refused(host, port)
                client.close()
                return
            server = socket.create_connection((host, port), timeout=10)
        except (OSError, UnicodeError, IndexError, struct.error):
            client.close()
            return
        # known before the browser's first byte (a TLS ClientHello) reaches the server
        end = tuple(server.getsockname()[:2])
        self._open.add(end)
        client.sendall(b"\x05\x00\x00\x01" + bytes(6))
        client.settimeout(None)
        server.settimeout(None)
        threading.Thread(target=_pipe, args=(server, client), daemon=True).start()
        try:
            _pipe(client, server)
        finally:
            self._open.discard(end)


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise OSError("closed during the SOCKS greeting")
        data += chunk
    return data


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
