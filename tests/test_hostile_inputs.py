"""A corpus of hostile inputs through the product's own commands (`qa ingest`, `qa worker`):
each bad file gets a clear one-line reason, the good ones in the same batch are scored, and
nothing is read whole into memory that does not need to be. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from audio_factory import encode
from conftest import SAMPLES, run_qa, settings_file
from liveserver import QA, LiveServer, served
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from qa.config import Config
from qa.db.models import Call, User
from qa.db.session import open_database, upgrade
from qa.speech.audio import load_audio
from qa.work.ingest import ingest_file

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


GIGABYTES_2 = 2 * 10**9
UPLOAD_CHUNK = 4 * 2**20


def _wav_header(data_bytes: int, rate: int = 16_000) -> bytes:
    """A 16-bit mono PCM WAV header for `data_bytes` of samples."""
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
            rate * 2, 2, 16) + b"data" + struct.pack("<I", data_bytes))


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def _upload(server: LiveServer, client: urllib.request.OpenerDirector, name: str, size: int) -> str:
    """POST a `size`-byte WAV (its header, then silence) to /upload as a browser would, streamed a
    chunk at a time (the test never holds the file either); the result page's text."""
    token = server.token(client, "/upload")
    boundary = "----qa-large-upload"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head + _wav_header(size - 44)
        silence = bytes(UPLOAD_CHUNK)
        left = size - 44
        while left > 0:
            yield silence[:min(left, UPLOAD_CHUNK)]
            left -= UPLOAD_CHUNK
        yield tail

    request = urllib.request.Request(server.base + "/upload", data=body(), method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail))})
    try:
        with client.open(request, timeout=900) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: {exc.read().decode()}"


def test_a_2_gb_upload_streams_to_disk_and_is_refused_before_decoding(tmp_path: Path) -> None:
    """2 GB through the browser's upload form on the real server, then `qa worker`: the server's
    memory stays far below the file's size, the file is stored whole, and processing refuses it
    from its declared length (17 h) without decoding it. SQLite only: the database holds one row
    either way."""
    config = Config(data_dir=tmp_path / "data")
    database = open_database(config)
    upgrade(database)
    with database.session() as session:
        session.add(User(username="insp", password_hash=generate_password_hash("pw-123456"), role="inspector"))
    settings = settings_file(config)
    with served(settings, "--no-worker") as server:
        client = server.client()
        server.sign_in(client, "insp", "pw-123456")
        before_mb = _peak_rss_mb(server.process.pid)
        page = _upload(server, client, "整天 录音.wav", GIGABYTES_2)
        grown_mb = _peak_rss_mb(server.process.pid) - before_mb
    assert "整天 录音.wav" in page and "已存为通话" in page, page[-2000:]
    assert grown_mb < 100, f"the server's peak memory grew by {grown_mb:.0f} MB for a 2 GB upload"
    with database.session() as session:
        call = session.scalars(select(Call)).one()
    assert (config.data_dir / call.audio_path).stat().st_size == GIGABYTES_2

    measured = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, str(QA), "--config", str(settings), "worker",
                               "--once"], capture_output=True, text=True, timeout=600)
    peak = measured.stdout.strip().splitlines()[-1]
    assert "17.4 h long, over the 4 h limit" in measured.stderr, measured.stdout + measured.stderr
    with database.session() as session:
        call = session.get_one(Call, call.id)
        assert (call.state, call.error) == ("failed", "17.4 h long, over the 4 h limit (audio.max_duration_s)")
    database.dispose()
    assert float(peak) < 1500, f"the worker's peak memory was {peak} MB for a 2 GB file it refused"


# Runs a command and prints its peak resident memory in MB (ru_maxrss of the only child it waited for).
PEAK_OF_CHILD = """
import resource, subprocess, sys
completed = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""
