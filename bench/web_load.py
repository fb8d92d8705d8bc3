"""The review UI under a bounded load (acceptance: 0 errors and p95 < 300 ms): 50 inspectors
reviewing at once for 60 s against `qa serve` on localhost.

Fills a fresh database as bench/web_pages.py does (real sample transcripts and scorecards,
10,000 calls by default), adds 50 inspector accounts, starts `qa serve --no-worker` as its own
process (waitress, as in production), and runs 50 reviewers, each in a thread with its own
session: sign in (spread over the first --ramp seconds, as people arrive), then for --seconds
open the queue now and then, open a call as the browser does (the page, its waveform peaks and
the first 256 KB of its audio), look at an agent's scorecard now and then, with a think time of
--think seconds between actions (default 2-6 s: a person reading a transcript and listening).
The waveforms are drawn beforehand, as the worker does when it scores a call. Prints requests
per second, p50 / p95 / max per page, and every error.

The server runs as `qa serve --processes N` (default 1: waitress in one process; above 1
gunicorn with N processes). With --keep DIR the filled SQLite database is kept there and a later
run with the same DIR skips the filling (about two minutes for 10,000 calls).

    python bench/web_load.py [--reviewers 50] [--seconds 60] [--calls 10000] [--think 2 6]
                             [--ramp 10] [--processes N] [--database-url URL] [--keep DIR]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

import yaml
from benchdb import bench_database, refresh_statistics
from sqlalchemy import select
from web_pages import PASSWORD, add_people, fill, load_samples
from werkzeug.security import generate_password_hash

from qa.config import Config
from qa.db.models import Agent, Call, User
from qa.db.session import Database, open_database, upgrade
from qa.scoring.loader import load_rules
from qa.speech.peaks import BUCKETS, compute_peaks

TARGET_P95_MS = 300.0
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_inspectors(db: Database, count: int) -> list[str]:
    password_hash = generate_password_hash(PASSWORD)
    names = [f"reviewer{i:02d}" for i in range(count)]
    with db.session() as session:
        session.add_all(User(username=name, password_hash=password_hash, role="inspector", display_name=name)
                        for name in names)
    return names


def draw_waveforms(config: Config, stored: list[tuple[int, str, str]]) -> None:
    """What the worker does after scoring each call, here once per distinct recording and copied
    to every call that shares it (the bench's calls reuse the 12 sample recordings)."""
    drawn: dict[str, dict[str, object]] = {}
    for _call_id, sha256, audio_path in stored:
        if audio_path not in drawn:
            drawn[audio_path] = compute_peaks(config.data_dir / audio_path, config)
        cache = config.data_dir / "cache" / "peaks" / f"{sha256}-{BUCKETS}.json"
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(drawn[audio_path]), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Reviewer(threading.Thread):
    """One inspector's browser session: pages in a loop with think time, each request timed."""

    def __init__(self, base: str, username: str, calls: list[int], agents: list[int], start: float, until: float,
                 think: tuple[float, float], seed: int, results: dict[str, list[float]], errors: list[str],
                 lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.base, self.username, self.calls, self.agents = base, username, calls, agents
        self.start_at, self.until, self.think = start, until, think
        self.rng = random.Random(seed)
        self.results, self.errors, self.lock = results, errors, lock
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, page: str, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        began = time.perf_counter()
        try:
            with self.opener.open(request, timeout=30) as response:
                text = response.read().decode("utf-8", "replace")
                status = response.status
        except Exception as exc:  # an HTTP error or a refused connection: counted, never hidden
            with self.lock:
                self.errors.append(f"{page} {path}: {exc}")
            return ""
        elapsed = (time.perf_counter() - began) * 1000
        with self.lock:
            self.results[page].append(elapsed)
            if status >= 400:
                self.errors.append(f"{page} {path}: HTTP {status}")
        return text

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        token = TOKEN.search(self.get("sign-in page", "/login"))
        self.get("sign in", "/login", {"username": self.username, "password": PASSWORD,
                                       "csrf_token": token[1] if token else ""})
        while time.monotonic() < self.until:
            roll = self.rng.random()
            if roll < 0.2:
                self.get("queue", "/queue")
            elif roll < 0.3:
                self.get("scorecard", f"/agents/{self.rng.choice(self.agents)}")
            else:
                call = self.rng.choice(self.calls)
                self.get("call page", f"/calls/{call}")
                self.get("waveform peaks", f"/api/calls/{call}/peaks")
                self.get("audio (256 KB)", f"/calls/{call}/audio", headers={"Range": "bytes=0-262143"})
            time.sleep(self.rng.uniform(*self.think))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="seconds between a reviewer's actions")
    parser.add_argument("--ramp", type=float, default=10.0, help="sign-ins spread over this many seconds")
    parser.add_argument("--processes", type=int, default=1, help="qa serve --processes (above 1: gunicorn)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="SQLite data directory to keep (and reuse when filled)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rules = load_rules()
    with tempfile.TemporaryDirectory(prefix="qa-bench-load-") as folder, \
            bench_database(args.database_url, args.keep or Path(folder) / "data") as config:
        db = open_database(config)
        upgrade(db)
        with db.session() as session:
            names = list(session.scalars(select(User.username).where(User.username.like("reviewer%"))
                                         .order_by(User.username)))
            agents = list(session.scalars(select(Agent.id).order_by(Agent.id)))
        if not names:
            agents, agent_users, inspector_id = add_people(db)
            fill(db, config, rules, load_samples(rules), args.calls, agents, agent_users, inspector_id, rng)
            names = add_inspectors(db, args.reviewers)
            refresh_statistics(db)
        elif len(names) < args.reviewers:
            sys.exit(f"{args.keep} holds {len(names)} reviewers; fill another directory for {args.reviewers}")
        names = names[:args.reviewers]
        with db.session() as session:
            stored = session.execute(select(Call.id, Call.sha256, Call.audio_path)).all()
        db.dispose()
        calls = [call_id for call_id, _, _ in stored]
        draw_waveforms(config, stored)
        settings = Path(folder) / "qa.yaml"
        settings.write_text(yaml.safe_dump({"data_dir": str(config.data_dir), "database_url": config.database_url,
                                            "web": {"secret_key": "bench-load"}}), encoding="utf-8")
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "--config", str(settings), "serve",
                                   "--no-worker", "--port", str(port), "--processes", str(args.processes)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/login", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            results: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            lock = threading.Lock()
            began = time.monotonic()
            until = began + args.ramp + args.seconds
            reviewers = [Reviewer(base, name, calls, agents, began + args.ramp * i / len(names), until,
                                  tuple(args.think), args.seed + i, results, errors, lock)
                         for i, name in enumerate(names)]
            for reviewer in reviewers:
                reviewer.start()
            for reviewer in reviewers:
                reviewer.join()
            elapsed = time.monotonic() - began
        finally:
            server.terminate()
            server.wait(timeout=10)

    total = sum(len(times) for times in results.values())
    print(f"{args.reviewers} reviewers for {args.seconds:.0f} s (after {args.ramp:.0f} s of sign-ins), think time "
          f"{args.think[0]:g}-{args.think[1]:g} s, against qa serve "
          f"({'waitress' if args.processes == 1 else f'gunicorn, {args.processes} processes'}), {len(calls)} calls, "
          f"{config.database().split(':')[0]}: {total} requests, {total / elapsed:.1f} per second, {len(errors)} errors")
    print(f"\n{'page':<16} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    every: list[float] = []
    for page, times in sorted(results.items()):
        every += times
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"{page:<16} {len(times):>6} {statistics.median(times):>8.1f} {p95:>8.1f} {max(times):>8.1f}")
    p95_all = statistics.quantiles(every, n=20)[-1]
    for error in errors[:20]:
        print(f"error: {error}")
    verdict = "meets" if p95_all < TARGET_P95_MS and not errors else "MISSES"
    print(f"\nall requests p95 {p95_all:.1f} ms, {len(errors)} errors: {verdict} the target "
          f"(0 errors, p95 < {TARGET_P95_MS:.0f} ms)")
    if verdict == "MISSES":
        sys.exit(1)


if __name__ == "__main__":
    main()
