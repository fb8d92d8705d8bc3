"""Ingest and the job queue on SQLite and PostgreSQL: real files, real database, real models."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from conftest import SAMPLES, run_qa
from sqlalchemy import func, select, text, update

from qa.config import Config
from qa.db.models import AuditEntry, Call, ItemVerdict, Job, Scoring, Team, Transcript
from qa.db.session import Database, open_database, upgrade
from qa.review.queue import risk_of
from qa.scoring.loader import DEFAULTS_DIR, RuleSet, load_rules
from qa.scoring.scorecard import CardFacts, RulesVersion, Scorecard
from qa.speech.asr import ModelMissingError
from qa.speech.pipeline import SpeechPipeline
from qa.work.ingest import (
    CallMetadata,
    IngestError,
    ingest_file,
    mask_number,
    read_metadata_csv,
)
from qa.work.jobs import Worker, claim_next, requeue_stale, retry, run_job, start_in_thread
from qa.work.persist import rescore

C03 = SAMPLES / "calls" / "c03_bare_wei.wav"  # the shortest real sample: 19.5 s, stereo


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


@pytest.fixture(scope="module")
def pipeline(models_dir: Path) -> SpeechPipeline:
    """One pipeline for the module, so Whisper is loaded once."""
    return SpeechPipeline(Config(models_dir=models_dir))


def utc(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives back the UTC wall clock without the zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def recording(folder: Path, name: str, content: bytes) -> Path:
    """A file to ingest; ingest does not decode, so any distinct bytes make a distinct call."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def queue_calls(db: Database, config: Config, folder: Path, count: int) -> list[int]:
    return [ingest_file(db, config, recording(folder, f"r{i}.wav", f"recording {i}".encode() * 50), f"r{i}.wav").call_id
            for i in range(count)]


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def call_of(db: Database, call_id: int) -> Call:
    with db.session() as session:
        return session.get_one(Call, call_id)


def jobs_of(db: Database, call_id: int) -> list[Job]:
    with db.session() as session:
        return list(session.scalars(select(Job).where(Job.call_id == call_id).order_by(Job.id)))


# --- ingest -------------------------------------------------------------------------------------

def test_the_same_audio_twice_is_one_call(migrated_db: Database, db_config: Config) -> None:
    first = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav")
    with C03.open("rb") as stream:
        again = ingest_file(migrated_db, db_config, stream, "renamed copy.MP3")
    sha = hashlib.sha256(C03.read_bytes()).hexdigest()
    assert first.created and first.sha256 == sha
    assert not again.created and again.call_id == first.call_id
    assert again.message == f"已上传过：通话 {first.call_id}（c03_bare_wei.wav），不再重复处理"
    stored = db_config.data_dir / "audio" / sha[:2] / f"{sha}.wav"
    assert stored.read_bytes() == C03.read_bytes()
    assert [p.name for p in (db_config.data_dir / "audio").rglob("*") if p.is_file()] == [stored.name]
    assert count(migrated_db, Call) == 1 and count(migrated_db, Job) == 1
    call = call_of(migrated_db, first.call_id)
    assert (call.audio_path, call.state, call.agent_id) == (f"audio/{sha[:2]}/{sha}.wav", "queued", None)


def test_simultaneous_uploads_of_one_recording_make_one_call(migrated_db: Database, db_config: Config) -> None:
    uploads = 6
    start = threading.Barrier(uploads)
    results = []

    def upload(index: int) -> None:
        start.wait()
        with C03.open("rb") as stream:
            results.append(ingest_file(migrated_db, db_config, stream, f"copy {index}.wav",
                                       CallMetadata(agent_code="A1001", team="一组", source="test")))

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == uploads and sum(r.created for r in results) == 1
    assert len({r.call_id for r in results}) == 1
    assert count(migrated_db, Call) == count(migrated_db, Job) == count(migrated_db, Team) == 1


def test_a_stored_calls_missing_file_is_restored(migrated_db: Database, db_config: Config) -> None:
    result = ingest_file(migrated_db, db_config, C03, "c03.wav")
    stored = db_config.data_dir / call_of(migrated_db, result.call_id).audio_path
    stored.unlink()
    assert not ingest_file(migrated_db, db_config, C03, "c03.wav").created
    assert stored.read_bytes() == C03.read_bytes()


def test_empty_and_unreadable_files_are_refused(migrated_db: Database, db_config: Config, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="文件为空"):
        ingest_file(migrated_db, db_config, recording(tmp_path, "empty.wav", b""), "empty.wav")
    with pytest.raises(IngestError, match="无法读取录音：No such file or directory"):
        ingest_file(migrated_db, db_config, tmp_path / "missing.wav", "missing.wav")
    assert count(migrated_db, Call) == 0
    assert not [p for p in (db_config.data_dir / "audio").rglob("*") if p.is_file()]  # no temporary file left


@pytest.mark.parametrize(("given", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("008613812345678", "138****5678"),
    ("021-87654321", "021****4321"),
    ("87654321", "****4321"),
    ("95588", "*5588"),
    ("1234", "****"),
    ("匿名", ""),
    ("", ""),
])
def test_customer_numbers_are_masked(given: str, masked: str) -> None:
    assert mask_number(given) == masked


CSV = """file,agent_id,agent_name,team,direction,started_at,customer_number
c03_bare_wei.wav,A1001,王伟,一组,in,2026-11-23 10:15:00,13812345678
c04_no_closing.wav,A1002,李娜,一组,呼出,2026-11-23T10:20:00+00:00,
bad_direction.wav,A1003,,,sideways,2026-11-23 10:30:00,
bad_time.wav,A1003,,,out,yesterday,
c03_bare_wei.wav,A1009,,,in,,
,A1003,,,in,,
short.wav,A1003
no_agent.wav,,,,,2026/11/23 11:00,
"""


def test_metadata_csv_good_and_bad_rows() -> None:
    sheet = read_metadata_csv(CSV)
    assert sheet.problems == [
        "metadata:4: 呼叫方向 'sideways' 应为 呼入/呼出、in/out 或 inbound/outbound",
        "metadata:5: 开始时间 'yesterday' 不是日期时间，应如 2026-11-23 14:05:00",
        "metadata:6: c03_bare_wei.wav 已在第 2 行填写过",
        "metadata:7: 没有文件名",
        "metadata:8: 有 2 列，表头有 7 列",
    ]
    assert set(sheet.rows) == {"c03_bare_wei.wav", "c04_no_closing.wav", "no_agent.wav"}
    c03 = sheet.rows["c03_bare_wei.wav"]
    assert (c03.agent_code, c03.agent_name, c03.team, c03.direction) == ("A1001", "王伟", "一组", "inbound")
    assert c03.started_at == datetime(2026, 11, 23, 10, 15) and c03.customer_number == "13812345678"
    assert c03.source == "CSV 第 2 行"
    assert sheet.rows["c04_no_closing.wav"].direction == "outbound"
    assert sheet.rows["c04_no_closing.wav"].started_at == datetime(2026, 11, 23, 10, 20, tzinfo=UTC)
    assert sheet.rows["no_agent.wav"].agent_code is None
    assert sheet.rows["no_agent.wav"].started_at == datetime(2026, 11, 23, 11, 0)


def test_metadata_csv_with_chinese_headers_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "通话.csv"
    path.write_bytes("文件,坐席工号,坐席姓名,班组,呼叫方向(呼入/呼出),开始时间,客户号码\r\n"
                     "c10_outbound.wav,A2001,赵敏,二组,呼出,2026/11/23 09:05,139 0000 1111\r\n"
                     "c11.wav,A2002,钱多,二组,呼入,20261123091000,\r\n".encode("gb18030"))
    sheet = read_metadata_csv(path)
    assert sheet.problems == []
    row = sheet.rows["c10_outbound.wav"]
    assert (row.agent_code, row.agent_name, row.team, row.direction) == ("A2001", "赵敏", "二组", "outbound")
    assert row.started_at == datetime(2026, 11, 23, 9, 5)
    assert sheet.rows["c11.wav"].started_at == datetime(2026, 11, 23, 9, 10)


def test_metadata_csv_survey_answers() -> None:
    sheet = read_metadata_csv("文件,满意度\na.wav,满意\nb.wav,不满意\nc.wav,\nd.wav,还行\ne.wav,neutral\n")
    assert {name: row.satisfaction for name, row in sheet.rows.items()} == {
        "a.wav": "satisfied", "b.wav": "unsatisfied", "c.wav": None, "e.wav": "neutral"}
    assert sheet.problems == ["metadata:5: 满意度 '还行' 应为 满意、一般 或 不满意"]


def test_metadata_csv_without_a_file_column() -> None:
    assert read_metadata_csv("agent_id,team\nA1,一组\n").problems == [
        "metadata:1: 表头没有文件列（文件 或 file）"]


def test_ingest_stores_the_metadata(migrated_db: Database, db_config: Config, tmp_path: Path) -> None:
    sheet = read_metadata_csv(CSV)
    c03 = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav", sheet.rows["c03_bare_wei.wav"])
    c04 = ingest_file(migrated_db, db_config, SAMPLES / "calls" / "c04_no_closing.wav", "c04_no_closing.wav",
                      sheet.rows["c04_no_closing.wav"])
    assert c03.message == f"已存为通话 {c03.call_id}（坐席 A1001，呼入，2026-11-23 10:15+08:00；来自CSV 第 2 行）"
    with migrated_db.session() as session:
        first, second = session.get_one(Call, c03.call_id), session.get_one(Call, c04.call_id)
        assert first.agent is not None and second.agent is not None
        assert (first.agent.code, first.agent.name, first.direction) == ("A1001", "王伟", "inbound")
        assert utc(first.started_at) == datetime(2026, 11, 23, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
        assert utc(second.started_at) == datetime(2026, 11, 23, 10, 20, tzinfo=UTC)  # the offset given wins
        assert first.customer_number == "138****5678" and second.customer_number == ""
        assert first.agent.team is second.agent.team and first.agent.team is not None
        assert first.agent.team.name == "一组"
        assert session.scalar(select(func.count()).select_from(Team)) == 1


def test_the_file_name_describes_a_call_without_a_csv_row(migrated_db: Database, db_config: Config,
                                                          tmp_path: Path) -> None:
    named = ingest_file(migrated_db, db_config, recording(tmp_path, "a", b"first call" * 99),
                        "A1001_20261123-101500_out.mp3")
    unnamed = ingest_file(migrated_db, db_config, recording(tmp_path, "b", b"second call" * 99), "录音 0042.wav")
    impossible = ingest_file(migrated_db, db_config, recording(tmp_path, "c", b"third call" * 99),
                             "A1001_20261399-101500_out.wav")
    assert named.message.endswith("（坐席 A1001，呼出，2026-11-23 10:15+08:00；来自文件名）")
    assert unnamed.message == (f"已存为通话 {unnamed.call_id}，未关联坐席：元数据中没有 录音 0042.wav，"
                               "文件名也不符合 <agent_id>_<YYYYmmdd-HHMMSS>_<in|out>.<ext>")
    assert "未关联坐席" in impossible.message
    with migrated_db.session() as session:
        call = session.get_one(Call, named.call_id)
        assert call.agent is not None and call.agent.code == "A1001" and call.direction == "outbound"
        assert utc(call.started_at) == datetime(2026, 11, 23, 2, 15, tzinfo=UTC)
        assert call.audio_path.endswith(".mp3")
        assert session.get_one(Call, unnamed.call_id).agent_id is None


@pytest.mark.parametrize(("original", "shown", "suffix"), [
    ("../../etc/passwd", "passwd", ""),
    ("..\\..\\Windows\\system.ini", "system.ini", ""),
    ("/var/spool/calls/c1.WAV", "c1.WAV", ".wav"),
    ("evil\x00.wav", "evil.wav", ".wav"),
    ("call.wav\x00.sh", "call.wav.sh", ""),
    ("..", "unnamed", ""),
    ("", "unnamed", ""),
])
def test_uploaded_names_never_become_paths(migrated_db: Database, db_config: Config, tmp_path: Path,
                                           original: str, shown: str, suffix: str) -> None:
    source = recording(tmp_path / "in", "upload", f"audio named {original!r}".encode() * 20)
    result = ingest_file(migrated_db, db_config, source, original)
    call = call_of(migrated_db, result.call_id)
    assert call.original_name == shown
    assert call.audio_path == f"audio/{result.sha256[:2]}/{result.sha256}{suffix}"
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm"))
    assert written == [db_config.data_dir / call.audio_path, source]


# --- claiming jobs ------------------------------------------------------------------------------

def test_claims_are_exclusive_one_after_another(migrated_db: Database, db_config: Config, tmp_path: Path) -> None:
    calls = queue_calls(migrated_db, db_config, tmp_path, 3)
    claimed = [claim_next(migrated_db, name) for name in ("w1", "w2", "w1", "w2")]
    assert claimed[3] is None
    assert [job.call_id for job in claimed[:3]] == calls  # oldest first
    assert [(job.state, job.worker, job.attempts) for job in claimed[:3]] == [
        ("running", "w1", 1), ("running", "w2", 1), ("running", "w1", 1)]
    assert {call_of(migrated_db, c).state for c in calls} == {"processing"}


def test_claims_are_exclusive_when_workers_race(migrated_db: Database, db_config: Config, tmp_path: Path) -> None:
    queue_calls(migrated_db, db_config, tmp_path, 12)
    workers = 8
    start = threading.Barrier(workers)
    taken: list[list[int]] = [[] for _ in range(workers)]

    def take_all(index: int) -> None:
        start.wait()
        while (job := claim_next(migrated_db, f"w{index}")) is not None:
            taken[index].append(job.id)

    threads = [threading.Thread(target=take_all, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [job_id for mine in taken for job_id in mine]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 12
    with migrated_db.session() as session:
        assert set(session.scalars(select(Job.attempts))) == {1}
        assert sorted(session.scalars(select(Job.id).where(Job.state == "running"))) == sorted(ids)


def test_postgresql_skips_a_job_another_worker_holds(postgres_url: str, tmp_path: Path) -> None:
    """Row locks are PostgreSQL's; SQLite's single writer is covered by the tests above."""
    config = Config(data_dir=tmp_path / "data", database_url=postgres_url)
    database = open_database(config)
    upgrade(database)
    try:
        first, second = queue_calls(database, config, tmp_path, 2)
        with database.engine.connect() as holder:
            holder.execute(text("SELECT id FROM jobs WHERE call_id = :call FOR UPDATE"), {"call": first})
            job = claim_next(database, "w2")  # does not wait for the holder
            assert job is not None and job.call_id == second
            holder.rollback()
        job = claim_next(database, "w3")
        assert job is not None and job.call_id == first
    finally:
        database.dispose()


# --- running jobs -------------------------------------------------------------------------------

def test_a_recorded_call_end_to_end(migrated_db: Database, db_config: Config, rules: RuleSet,
                                    pipeline: SpeechPipeline) -> None:
    call_id = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    job = claim_next(migrated_db, "test")
    assert job is not None
    seen: list[tuple[str, str, float]] = []

    def watch(update: Job, call: Call) -> None:
        with migrated_db.session() as session:  # what the web app sees: the stage is committed
            stored = session.get_one(Job, update.id)
            seen.append((stored.state, stored.stage, stored.progress))

    finished = run_job(migrated_db, db_config, rules, pipeline, job, watch)
    assert finished.state == "done"
    assert seen == [("running", "decode", 0.0), ("running", "asr", 0.05), ("running", "diarize", 0.85),
                    ("running", "score", 0.95), ("done", "done", 1.0)]
    with migrated_db.session() as session:
        call = session.get_one(Call, call_id)
        assert call.state == "scored" and call.error == ""
        assert call.duration == pytest.approx(19.5, abs=0.2)
        assert call.transcript is not None and call.transcript.data["schema"] == "qa.transcript/1"
        assert call.transcript.data["call_id"] == str(call_id)
        scoring = session.scalars(select(Scoring).where(Scoring.call_id == call_id)).one()
        card = Scorecard.from_dict(scoring.scorecard)
        assert (call.score, call.grade, call.fatal) == (card.score, card.grade, card.fatal) \
            == (scoring.score, scoring.grade, scoring.fatal)
        assert scoring.checklists == card.to_dict()["checklists"] and {c.id for c in card.checklists} >= {"greeting"}
        assert [v.position for v in call.verdicts] == list(range(len(rules.items())))
        assert [v.item for v in call.verdicts] == [item.id for _, item in rules.items()]
        assert all(v.scoring_id == scoring.id and v.final_verdict is None for v in call.verdicts)
        # c03 opens with a bare 喂: the greeting fails, with the words it rests on as evidence.
        bare = next(v for v in call.verdicts if v.item == "greeting.no_bare_wei")
        assert bare.auto_verdict == "fail" and bare.evidence and "喂" in bare.evidence[0]["text"]
        assert call.risk == pytest.approx(risk_of(card, rules.template.review_below_confidence))
        assert call.risk >= 10 * bare.deduct and not call.sampled  # a failing call is queued on its own
        sha = call.sha256
    assert jobs_of(migrated_db, call_id)[0].finished_at is not None
    assert list((db_config.data_dir / "cache" / "peaks").glob(f"{sha}-*.json"))  # the waveform, drawn by the worker


def test_a_crashed_workers_job_is_requeued_and_processed_once(migrated_db: Database, db_config: Config,
                                                              rules: RuleSet, pipeline: SpeechPipeline) -> None:
    call_id = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    crashed = claim_next(migrated_db, "crashed-worker")
    assert crashed is not None
    assert requeue_stale(migrated_db, 60, 3) == (0, 0)  # a job with a fresh heartbeat is left alone
    with migrated_db.session() as session:  # the worker's last heartbeat was two minutes ago
        session.execute(update(Job).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert requeue_stale(migrated_db, 60, 3) == (1, 0)
    assert (jobs_of(migrated_db, call_id)[0].state, call_of(migrated_db, call_id).state) == ("queued", "queued")

    survivor = claim_next(migrated_db, "survivor")
    assert survivor is not None and survivor.attempts == 2
    # The presumed-dead worker wakes up and finishes: its result is discarded, not stored twice.
    assert run_job(migrated_db, db_config, rules, pipeline, crashed).state == "running"
    assert count(migrated_db, Transcript) == 0 and count(migrated_db, Scoring) == 0
    assert run_job(migrated_db, db_config, rules, pipeline, survivor).state == "done"

    [job] = jobs_of(migrated_db, call_id)
    assert (job.state, job.worker, job.attempts) == ("done", "survivor", 2)
    assert count(migrated_db, Transcript) == 1 and count(migrated_db, Scoring) == 1
    assert call_of(migrated_db, call_id).state == "scored"


def test_a_call_that_kills_its_worker_every_time_is_parked_and_can_be_retried(
        migrated_db: Database, db_config: Config) -> None:
    call_id = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    for attempt in (1, 2, 3):
        job = claim_next(migrated_db, f"worker-{attempt}")
        assert job is not None and job.attempts == attempt
        with migrated_db.session() as session:  # killed: no heartbeat since
            session.execute(update(Job).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)))
        assert requeue_stale(migrated_db, 60, 3) == ((1, 0) if attempt < 3 else (0, 1))
    [job] = jobs_of(migrated_db, call_id)
    call = call_of(migrated_db, call_id)
    assert (job.state, call.state) == ("failed", "failed") and "处理中断 3 次" in call.error
    assert claim_next(migrated_db, "next") is None  # parked: the queue goes on without it
    retried = retry(migrated_db, db_config, call_id)
    assert retried.state == "queued" and call_of(migrated_db, call_id).state == "queued"


def test_a_corrupt_recording_fails_with_its_reason_and_the_next_succeeds(
        migrated_db: Database, db_config: Config, rules: RuleSet, pipeline: SpeechPipeline, tmp_path: Path) -> None:
    broken = recording(tmp_path, "broken.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"not audio at all " * 20)
    bad = ingest_file(migrated_db, db_config, broken, "broken.wav").call_id
    good = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    updates: list[tuple[int, str]] = []
    worker = Worker(migrated_db, db_config, rules, pipeline=pipeline, name="w",
                    on_update=lambda job, call: updates.append((call.id, job.state)))
    assert worker.run(stop_when_idle=True) == 2

    failed = call_of(migrated_db, bad)
    assert failed.state == "failed" and failed.error.startswith("not a readable audio file (InvalidDataError")
    assert "\n" not in failed.error and failed.score is None
    assert "'broken.wav'" in failed.error and str(db_config.data_dir) not in failed.error
    [failed_job] = jobs_of(migrated_db, bad)
    assert (failed_job.state, failed_job.error) == ("failed", failed.error)
    assert call_of(migrated_db, good).state == "scored"
    assert (bad, "failed") in updates and updates[-1] == (good, "done")

    with pytest.raises(ValueError, match=f"call {good} is scored; only failed calls are retried"):
        retry(migrated_db, db_config, good)
    retry(migrated_db, db_config, bad)
    assert [j.state for j in jobs_of(migrated_db, bad)] == ["failed", "queued"]
    assert (call_of(migrated_db, bad).state, call_of(migrated_db, bad).error) == ("queued", "")
    with pytest.raises(ValueError, match="call 999 does not exist"):
        retry(migrated_db, db_config, 999)


def test_a_missing_recording_fails_the_call(migrated_db: Database, db_config: Config, rules: RuleSet,
                                            pipeline: SpeechPipeline, tmp_path: Path) -> None:
    call_id = queue_calls(migrated_db, db_config, tmp_path, 1)[0]
    (db_config.data_dir / call_of(migrated_db, call_id).audio_path).unlink()
    job = claim_next(migrated_db, "w")
    assert job is not None
    assert run_job(migrated_db, db_config, rules, pipeline, job).state == "failed"
    assert call_of(migrated_db, call_id).error == "the stored recording is missing from the data directory"


def test_missing_models_put_the_job_back(migrated_db: Database, db_config: Config, rules: RuleSet,
                                        tmp_path: Path) -> None:
    call_id = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    job = claim_next(migrated_db, "w")
    assert job is not None
    unbuilt = SpeechPipeline(Config(models_dir=tmp_path / "no-models"))
    with pytest.raises(ModelMissingError):
        run_job(migrated_db, db_config, rules, unbuilt, job)
    [stored] = jobs_of(migrated_db, call_id)
    assert (stored.state, stored.worker, call_of(migrated_db, call_id).state) == ("queued", "", "queued")


def test_rescore_without_transcribing_again(migrated_db: Database, db_config: Config, rules: RuleSet,
                                            pipeline: SpeechPipeline, tmp_path: Path) -> None:
    call_id = ingest_file(migrated_db, db_config, C03, "c03_bare_wei.wav").call_id
    Worker(migrated_db, db_config, rules, pipeline=pipeline).run(stop_when_idle=True)
    with migrated_db.session() as session:  # an inspector has decided one item already
        call = session.get_one(Call, call_id)
        before, transcript_id = call.score, call.transcript.id
        decided = call.verdicts[0]
        decided.final_verdict, decided.comment, call.state = "pass", "听过录音", "in_review"

    changed = tmp_path / "checklists"
    shutil.copytree(DEFAULTS_DIR, changed)
    template = changed / "scoring.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace("base: 100", "base: 90"), encoding="utf-8")
    assert rescore(migrated_db, load_rules(changed)) == [call_id]

    with migrated_db.session() as session:
        call = session.get_one(Call, call_id)
        assert call.score == before - 10 and call.state == "in_review"
        assert call.transcript.id == transcript_id and session.scalar(select(func.count()).select_from(Transcript)) == 1
        scorings = list(session.scalars(select(Scoring).where(Scoring.call_id == call_id).order_by(Scoring.id)))
        assert len(scorings) == 2 and scorings[1].score == call.score
        assert {v.scoring_id for v in call.verdicts} == {scorings[1].id}
        kept = call.verdicts[0]
        assert (kept.item, kept.final_verdict, kept.comment) == (decided.item, "pass", "听过录音")
        assert all(v.final_verdict is None for v in call.verdicts[1:])
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "rescore")).one()
        assert audit.before["score"] == before and audit.after["score"] == call.score
        call.state = "confirmed"
    assert rescore(migrated_db, rules) == []  # a confirmed call keeps its scores
    assert count(migrated_db, Scoring) == 2 and count(migrated_db, ItemVerdict) == len(rules.items())


def test_a_worker_in_a_thread_processes_new_calls(migrated_db: Database, db_config: Config, rules: RuleSet,
                                                  pipeline: SpeechPipeline, tmp_path: Path) -> None:
    worker = start_in_thread(migrated_db, db_config, rules, pipeline=pipeline, poll_s=0.1)
    assert worker.thread is not None and worker.thread.daemon
    call_id = queue_calls(migrated_db, db_config, tmp_path, 1)[0]  # not audio: fails fast, without models
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while call_of(migrated_db, call_id).state != "failed" and datetime.now(UTC) < deadline:
        worker.thread.join(timeout=0.1)
    worker.stop()
    worker.thread.join(timeout=10)
    assert not worker.thread.is_alive()
    assert call_of(migrated_db, call_id).state == "failed"


def test_sampling_is_reproducible_and_near_the_rate() -> None:
    from qa.review.queue import is_sampled

    passing = Scorecard(call_id="", audio_sha256="", checklists=[], template=RulesVersion("t", 1, ""), facts=CardFacts(),
                        verdicts=[])
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    drawn = [is_sampled(passing, sha, 0.1) for sha in shas]
    assert drawn == [is_sampled(passing, sha, 0.1) for sha in shas]
    assert 0.08 < sum(drawn) / len(drawn) < 0.12
    assert not any(is_sampled(passing, sha, 0.0) for sha in shas)


# --- commands -----------------------------------------------------------------------------------

def test_ingest_worker_rescore_and_retry_commands(db_config: Config, tmp_path: Path) -> None:
    assert run_qa(db_config, "db", "upgrade").exit_code == 0
    folder = tmp_path / "recordings"
    broken = recording(folder, "A1001_20261123-101500_in.wav", b"RIFF\x24\x00\x00\x00WAVE" + b"junk" * 99)
    plain = recording(folder, "plain.wav", b"also not audio" * 99)
    sheet = recording(folder, "calls.csv", "file,agent_id,direction\nplain.wav,A2001,呼入\nother.wav,A2002,上\n"
                      .encode())
    stored: Result = run_qa(db_config, "ingest", str(broken), str(plain), str(folder / "gone.wav"),
                        "--metadata", str(sheet))
    assert stored.exit_code == 1
    lines = stored.output
    assert f"bad row, ignored {sheet}:3: 呼叫方向 '上' 应为" in lines
    assert f"stored  {broken}: 已存为通话 1（坐席 A1001，呼入" in lines and "来自文件名" in lines
    assert f"stored  {plain}: 已存为通话 2（坐席 A2001，呼入，无开始时间；来自CSV 第 2 行）" in lines
    assert f"error  {folder / 'gone.wav'}: 无法读取录音" in lines
    assert "1 of 3 file(s) failed" in lines
    again = run_qa(db_config, "ingest", str(plain))
    assert again.exit_code == 0 and f"already uploaded  {plain}: 已上传过：通话 2" in again.output

    worked = run_qa(db_config, "worker", "--once")
    assert worked.exit_code == 1
    assert "failed  call 1 A1001_20261123-101500_in.wav: not a readable audio file" in worked.output
    assert "failed  call 2 plain.wav" in worked.output and "2 call(s) processed" in worked.output
    assert run_qa(db_config, "worker", "--once").output.endswith("no call was queued\n")

    retried = run_qa(db_config, "retry")
    assert retried.exit_code == 0 and "queued 2 call(s) again" in retried.output
    assert "call 1 is queued; only failed calls are retried" in run_qa(db_config, "retry", "1").output
    assert run_qa(db_config, "rescore").output == "re-scored 0 call(s)\n"
    assert "not re-scored (confirmed, unprocessed or unknown): [1, 7]" in run_qa(db_config, "rescore", "1", "7").output


def test_ingest_a_folder_with_its_metadata(db_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "今天的录音"
    (folder / "一组").mkdir(parents=True)
    shutil.copyfile(C03, folder / "一组" / "客户 来电.wav")
    shutil.copyfile(SAMPLES / "calls" / "c04_no_closing.wav", folder / "c04.wav")
    shutil.copyfile(C03, folder / "重复.wav")  # the same audio as 一组/客户 来电.wav, found after it
    (folder / "readme.txt").write_text("not a recording", encoding="utf-8")
    (folder / "calls.csv").write_text("文件,坐席工号\n客户 来电.wav,A7001\nc04.wav,A7002\nc05.wav,A7003,x\n",
                                      encoding="utf-8")
    assert run_qa(db_config, "db", "upgrade").exit_code == 0
    result = run_qa(db_config, "ingest", str(folder))
    assert result.exit_code == 0, result.output
    assert f"metadata from {folder / 'calls.csv'}" in result.output
    assert "3 file(s): 2 stored and queued, 1 already uploaded (not queued again), 0 could not be stored; " \
           "1 bad CSV row(s)" in result.output
    assert "readme.txt" not in result.output
    database = open_database(db_config)
    with database.session() as session:
        agents = {c.original_name: c.agent.code for c in session.scalars(select(Call))}
    database.dispose()
    assert agents == {"客户 来电.wav": "A7001", "c04.wav": "A7002"}
    (folder / "more.csv").write_text("文件\n", encoding="utf-8")
    two = run_qa(db_config, "ingest", str(folder))
    assert two.exit_code == 2 and "say which with --metadata" in two.output


def test_ingest_watches_a_folder_until_sigterm(db_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copyfile(C03, folder / "first.wav")
    assert run_qa(db_config, "db", "upgrade").exit_code == 0
    settings = db_config.data_dir.parent / "qa.yaml"  # written by run_qa
    watcher = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "--config", str(settings), "ingest",
                                str(folder), "--watch", "--interval", "0.2"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    database = open_database(db_config)

    def stored() -> set[str]:
        with database.session() as session:
            return set(session.scalars(select(Call.original_name)))

    try:
        deadline = time.monotonic() + 30
        while stored() != {"first.wav"}:
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.1)
        shutil.copyfile(SAMPLES / "calls" / "c04_no_closing.wav", folder / "arrived later.wav")
        while stored() != {"first.wav", "arrived later.wav"}:
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.1)
    finally:
        watcher.send_signal(signal.SIGTERM)
        output = watcher.communicate(timeout=30)[0].decode()
        database.dispose()
    assert watcher.returncode == 0, output
    assert "2 file(s): 2 stored and queued" in output
