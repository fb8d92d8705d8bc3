"""Time of a month's tally and ranking for a large centre (acceptance: 200,000 confirmed calls
for 500 agents in under 5 s).

Fills a fresh database with confirmed calls for 500 agents in 10 teams: November 2026 (the
month tallied, 200,000 calls by default) and October (for the trend against last month, and
the earlier months of the policy's counting windows). Every call has all 22 default checklist
items stored as the review leaves them (final verdicts set), failing at realistic rates that
differ by agent; about 0.4 % of calls have a fatal item. Calls are stored in the order they
started, as a centre ingests them. Recorded events (praise, complaints)
and a few adjustments are added. Then times, with the bundled policy:

- reading the month from the database (load_inputs) and computing tally + ranking, together
  (the acceptance figure) and apart, best and median of --repeat runs;
- publishing (the figures stored whole as a frozen version) and the XLSX export.

    python bench/tally.py [--calls 200000] [--agents 500] [--previous-calls N] [--database-url URL]
                          [--keep DIR]

Without --database-url the database is SQLite in a temporary directory (as the product's
default), or in DIR with --keep, where a later run finds it filled and skips the filling (about
8 minutes for 2 x 200,000 calls on this machine); with a PostgreSQL URL the bench uses a schema
of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchdb import bench_database
from sqlalchemy import func, insert, select, text

from qa.db.models import Agent, Call, ItemVerdict, Scoring, TallyEntry, Team
from qa.db.session import Database, open_database, upgrade
from qa.scoring.loader import load_rules
from qa.tally.actions import gc_paused, live_tally, publish
from qa.tally.compute import compute_tally
from qa.tally.export import write_xlsx
from qa.tally.inputs import load_inputs
from qa.tally.period import Month, month_bounds
from qa.tally.policy import load_policy

NOVEMBER = Month(2026, 11)
TEAMS = 10
CHUNK = 20_000
BASE_RATE = {"greeting": 0.03, "closing": 0.05, "courtesy": 0.04, "forbidden": 0.012, "acoustic": 0.05}
FATAL_RATE = 0.001  # per fatal item: four of them, about 0.4 % of calls


def add_agents(db: Database, count: int) -> list[int]:
    with db.session() as session:
        teams = [Team(name=f"{i + 1}组") for i in range(TEAMS)]
        agents = [Agent(code=f"B{i + 1:04d}", name=f"坐席{i + 1}", team=teams[i % TEAMS]) for i in range(count)]
        session.add_all(agents)
        session.flush()
        return [a.id for a in agents]


def fill_month(db: Database, month: Month, calls: int, agents: list[int], skill: dict[int, float],
               rng: random.Random, first_id: int) -> int:
    """`calls` confirmed calls in `month`, every checklist item stored; returns the next call id."""
    rules = load_rules()
    items = [(checklist.checklist.area, item) for checklist, item in rules.items()]
    start, end = month_bounds(month, load_policy().policy.period)
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(calls))  # ingested as they happen
    call_id = first_id
    for offset in range(0, calls, CHUNK):
        call_rows, scoring_rows, verdict_rows = [], [], []
        for started in times[offset:offset + CHUNK]:
            agent = rng.choice(agents)
            failed_points, fatal, verdicts = 0.0, False, []
            for position, (area, item) in enumerate(items):
                rate = FATAL_RATE if item.fatal else BASE_RATE[area] * skill[agent]
                fails = rng.random() < rate
                failed_points += item.deduct if fails else 0.0
                fatal = fatal or (fails and item.fatal)
                verdict = "fail" if fails else "pass"
                verdicts.append({"call_id": call_id, "scoring_id": call_id, "position": position, "item": item.id,
                                 "area": area, "name": item.name, "auto_verdict": verdict, "confidence": 0.9,
                                 "deduct": item.deduct, "fatal": item.fatal, "evidence": [], "reason": "",
                                 "final_verdict": verdict, "comment": ""})
            score = 0.0 if fatal else max(0.0, 100.0 - failed_points)
            call_rows.append({"id": call_id, "sha256": f"{call_id:064x}", "audio_path": f"audio/{call_id}.wav",
                              "original_name": f"{call_id}.wav", "agent_id": agent, "started_at": started,
                              "state": "confirmed", "score": score, "fatal": fatal,
                              "satisfaction": rng.choice(("satisfied", "satisfied", "satisfied", "neutral", None))})
            scoring_rows.append({"id": call_id, "call_id": call_id, "scorecard": {}, "score": score, "grade": "",
                                 "fatal": fatal, "checklists": []})
            verdict_rows += verdicts
            call_id += 1
        with db.session() as session:
            session.execute(insert(Call.__table__), call_rows)
            session.execute(insert(Scoring.__table__), scoring_rows)
            session.execute(insert(ItemVerdict.__table__), verdict_rows)
        print(f"  {month}: {offset + len(call_rows):,} calls", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    return call_id


def add_entries(db: Database, agents: list[int], rng: random.Random) -> None:
    rows = [{"agent_id": a, "month": str(NOVEMBER), "kind": "praise", "quantity": rng.randint(1, 6), "points": 0.0,
             "yuan": 0.0, "note": "客户点名表扬", "created_at": datetime(2026, 11, 28)} for a in agents[::2]]
    rows += [{"agent_id": a, "month": str(NOVEMBER), "kind": "complaint", "quantity": rng.randint(1, 2), "points": 0.0,
              "yuan": 0.0, "note": "服务态度投诉", "created_at": datetime(2026, 11, 28)} for a in agents[::25]]
    rows += [{"agent_id": a, "month": str(NOVEMBER), "kind": "adjustment", "quantity": 1, "points": 1.0, "yuan": 0.0,
              "note": "系统故障补分", "created_at": datetime(2026, 11, 28)} for a in agents[::50]]
    with db.session() as session:
        session.execute(insert(TallyEntry.__table__), rows)


class Undo(Exception):
    """Rolls the publishing back."""


def fill(db: Database, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    began = time.perf_counter()
    agents = add_agents(db, args.agents)
    skill = {a: rng.uniform(0.3, 2.0) for a in agents}
    previous = args.previous_calls if args.previous_calls is not None else args.calls
    next_id = fill_month(db, NOVEMBER.shift(-1), previous, agents, skill, rng, 1)
    fill_month(db, NOVEMBER, args.calls, agents, skill, rng, next_id)
    add_entries(db, agents, rng)
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    print(f"filled in {time.perf_counter() - began:.0f} s")


def timed(action, repeat: int) -> tuple[list[float], object]:  # action: any callable
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000, help="confirmed calls in November")
    parser.add_argument("--previous-calls", type=int, default=None, help="October's calls (default: as --calls)")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="a server to bench on (default: SQLite in a temporary folder)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="SQLite data directory to keep (and reuse when filled)")
    args = parser.parse_args()
    loaded = load_policy()
    with tempfile.TemporaryDirectory() as folder, \
            bench_database(args.database_url, args.keep or Path(folder) / "data") as config:
        db = open_database(config)
        upgrade(db)
        with db.session() as session:
            filled = session.scalar(select(func.count(Agent.id))) > 0
        if not filled:
            fill(db, args)
        print(f"{db.dialect}, {args.agents} agents, {args.calls:,} calls in {NOVEMBER} (22 items each)"
              + (" (database kept from an earlier run)" if filled else ""))

        def whole() -> object:
            with db.session() as session:
                return live_tally(session, loaded, NOVEMBER)

        def read() -> object:
            with db.session() as session:
                return load_inputs(session, loaded.policy, NOVEMBER)

        totals, tally = timed(whole, args.repeat)
        with gc_paused():  # as live_tally runs them
            reads, inputs = timed(read, args.repeat)
            computes, _ = timed(lambda: compute_tally(inputs, loaded), args.repeat)
        assert tally.centre.calls == args.calls, "every confirmed call of the month is counted"
        began = time.perf_counter()
        try:
            with db.session() as session:
                publish(session, loaded, NOVEMBER, None, "")
                publishing = time.perf_counter() - began
                raise Undo  # a kept database stays as filled
        except Undo:
            pass
        began = time.perf_counter()
        write_xlsx(tally, "bench", io.BytesIO())
        exporting = time.perf_counter() - began
        db.dispose()

    best, median = min(totals), statistics.median(totals)
    ranked = sum(a.ranked for a in tally.agents)
    print(f"tally + ranking of {args.calls:,} calls, {args.agents} agents ({ranked} ranked): "
          f"best {best:.2f} s, median {median:.2f} s of {args.repeat} (target < 5 s: {best / 5:.0%} of it)")
    print(f"  reading the month: best {min(reads):.2f} s; computing: best {min(computes):.2f} s "
          f"({args.calls / min(computes):,.0f} calls/s)")
    print(f"publishing (frozen copy of every figure): {publishing:.2f} s; XLSX export: {exporting:.2f} s")
    print(f"centre: mean {tally.centre.mean}, fatal items {tally.centre.fatal}, rewards {tally.centre.reward_yuan:,.0f} 元, "
          f"penalties {tally.centre.penalty_yuan:,.0f} 元")


if __name__ == "__main__":
    main()
