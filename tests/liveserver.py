"""`qa serve` as a real server process for tests that need one (several processes, huge uploads),
and a signed-in client for it."""

from __future__ import annotations

import http.cookiejar
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

QA = Path(sys.executable).parent / "qa"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    base: str

    def client(self) -> urllib.request.OpenerDirector:
        """A browser-like client: keeps its cookies."""
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def token(self, client: urllib.request.OpenerDirector, path: str) -> str:
        """The CSRF token of the form on `path`."""
        with client.open(self.base + path) as response:
            return TOKEN.search(response.read().decode())[1]

    def sign_in(self, client: urllib.request.OpenerDirector, username: str, password: str) -> None:
        body = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrf_token": self.token(client, "/login")}).encode()
        with client.open(self.base + "/login", data=body) as response:
            assert not response.url.endswith("/login"), "sign-in refused"


@contextmanager
def served(settings: Path, *options: str, timeout_s: float = 60) -> Iterator[LiveServer]:
    """`qa --config SETTINGS serve OPTIONS` on a free port, answering; stopped with SIGTERM after,
    which must end it cleanly."""
    port = free_port()
    process = subprocess.Popen([str(QA), "--config", str(settings), "serve", "--port", str(port), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                urllib.request.urlopen(server.base + "/login", timeout=2).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, f"qa serve not answering after {timeout_s} s"
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
