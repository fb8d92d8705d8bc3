"""A corpus of hostile inputs through the product's own commands (`qa ingest`, `qa worker`):
each bad file gets a clear one-line reason, the good ones in the same batch are scored, and
nothing is read whole into memory that does not need to be. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
from audio_factory import encode
from conftest import SAMPLES, run_qa
from sqlalchemy import select

from qa.audio import load_audio
from qa.config import Config
from qa.db.models import Call
from qa.db.session import open_database, upgrade
from qa.store import ingest_file

pytestmark = pytest.mark.slow


def _ten_hours_of_silence(path: Path) -> Path:
    """10 h of 8 kHz digital silence in FLAC: 7 MB on disk, 288 million samples if decoded."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=8000, layout="mono")
        zeros = np.zeros((1, 80_000), dtype=np.int16)
        for _ in range(3600):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout="mono")
            frame.sample_rate = 8000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    calls = SAMPLES / "calls"
    (folder / "empty.wav").write_bytes(b"")
    (folder / "not-audio.wav").write_bytes("这不是录音，只是一段文字。\n".encode() * 50)
    whole = (calls / "c05_ni_not_nin.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(whole[: len(whole) // 3])
    _ten_hours_of_silence(folder / "ten-hours-silence.flac")
    speech = load_audio(calls / "c01_inbound_good.wav")
    encode(speech.mono()[None, 16_000:19_200], 16_000, folder / "short-0.2s.wav", "pcm_s16le")
    (folder / "客户 来电 录音.wav").write_bytes((calls / "c03_bare_wei.wav").read_bytes())
    (folder / "重复 上传.wav").write_bytes((calls / "c03_bare_wei.wav").read_bytes())  # sorts after, same audio
    four = load_audio(calls / "c04_no_closing.wav")  # 16 kHz; 48 kHz by repeating samples three times
    six = np.repeat(np.repeat(four.mono()[None, :], 3, axis=1), 6, axis=0) * np.linspace(0.4, 0.9, 6)[:, None]
    encode(six.astype(np.float32), 48_000, folder / "48k-6ch.mp3", "pcm_s16le", container="wav")  # wrong extension
    (folder / "calls.csv").write_text(
        "文件,坐席工号,呼叫方向,开始时间\n"
        "客户 来电 录音.wav,A3001,呼入,2026-11-20 10:00\n"
        "48k-6ch.mp3,A3002,上下,2026-11-20 11:00\n"  # a bad direction: the row is left out, said so
        "48k-6ch.mp3,A3002,呼入,2026-11-20 11:00,extra\n", encoding="utf-8")
    return folder


def test_a_hostile_batch(corpus: Path, db_config: Config) -> None:
    files = sorted(p for p in corpus.iterdir() if p.suffix != ".csv")
    stored = run_qa(db_config, "db", "upgrade")
    assert stored.exit_code == 0, stored.output
    ingested = run_qa(db_config, "ingest", *map(str, files), "--metadata", str(corpus / "calls.csv"))
    out = ingested.output
    assert ingested.exit_code == 1  # one file could not even be stored
    assert "bad row, ignored" in out and "呼叫方向 '上下' 应为" in out and "有 5 列，表头有 4 列" in out
    assert f"error  {corpus / 'empty.wav'}: 文件为空" in out
    assert f"already uploaded  {corpus / '重复 上传.wav'}" in out

    processed = run_qa(db_config, "worker", "--once")
    assert processed.exit_code == 1, processed.output  # some calls failed; the batch went on
    database = open_database(db_config)
    with database.session() as session:
        calls = {c.original_name: c for c in session.scalars(select(Call))}
    database.dispose()
    assert set(calls) == {"not-audio.wav", "truncated.wav", "ten-hours-silence.flac", "short-0.2s.wav",
                          "48k-6ch.mp3", "客户 来电 录音.wav"}
    reasons = {name: (call.state, call.error) for name, call in calls.items()}
    assert reasons["not-audio.wav"][0] == "failed" and "not a readable audio file" in reasons["not-audio.wav"][1]
    assert reasons["truncated.wav"][0] == "failed" and "truncated" in reasons["truncated.wav"][1]
    assert reasons["ten-hours-silence.flac"] == ("failed", "10.0 h long, over the 4 h limit (audio.max_duration_s)")
    assert reasons["short-0.2s.wav"][0] == "failed" and "no speech recognised in 0.2 s" in reasons["short-0.2s.wav"][1]
    assert reasons["48k-6ch.mp3"] == ("scored", "")
    assert calls["48k-6ch.mp3"].agent_id is None  # both its CSV rows were bad: stored without an agent
    assert reasons["客户 来电 录音.wav"] == ("scored", "") and calls["客户 来电 录音.wav"].agent_id is not None
    for call in calls.values():  # stored by hash under the data directory, whatever the name
        assert call.audio_path.startswith("audio/") and (db_config.data_dir / call.audio_path).is_file()


def test_upload_names_cannot_reach_outside_the_store(db_config: Config, tmp_path: Path) -> None:
    database = open_database(db_config)
    upgrade(database)
    before = set(os.listdir(tmp_path))
    result = ingest_file(database, db_config, SAMPLES / "calls" / "c05_ni_not_nin.wav", "../../etc/passwd")
    with database.session() as session:
        call = session.get_one(Call, result.call_id)
        assert (call.original_name, call.audio_path) == ("passwd", f"audio/{result.sha256[:2]}/{result.sha256}")
    database.dispose()
    assert set(os.listdir(tmp_path)) - before <= {"data"}
