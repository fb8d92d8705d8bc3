"""Ingest never stores what a link points at, nor the data directory's own files (issue 14, item 3):
a link named x.wav to secret_key would otherwise put the key behind the call's audio URL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLES, run_qa
from sqlalchemy import select

from qa.config import Config
from qa.db.models import Call
from qa.db.session import Database, open_database
from qa.work.ingest import IngestError, ingest_file

C03 = SAMPLES / "calls" / "c03_bare_wei.wav"
KEY = b"0123456789abcdef-the-session-signing-key"


@pytest.fixture
def key_file(db_config: Config) -> Path:
    """The data directory's secret_key, as the web app writes it."""
    db_config.data_dir.mkdir(parents=True, exist_ok=True)
    path = db_config.data_dir / "secret_key"
    path.write_bytes(KEY)
    return path


def stored_names(config: Config) -> set[str]:
    database = open_database(config)
    with database.session() as session:
        names = set(session.scalars(select(Call.original_name)))
    database.dispose()
    return names


def key_in_store(config: Config) -> bool:
    return any(p.is_file() and KEY in p.read_bytes() for p in (config.data_dir / "audio").rglob("*"))


def test_links_in_an_ingest_folder_are_refused(db_config: Config, key_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(C03, elsewhere / "outside.wav")
    shutil.copyfile(SAMPLES / "calls" / "c04_no_closing.wav", folder / "sub" / "real.wav")
    (folder / "x.wav").symlink_to(key_file)
    (folder / "outside.wav").symlink_to(elsewhere / "outside.wav")
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    (folder / "data").symlink_to(db_config.data_dir, target_is_directory=True)
    os.link(key_file, folder / "hard.wav")
    assert run_qa(db_config, "db", "upgrade").exit_code == 0

    result = run_qa(db_config, "ingest", str(folder))
    assert result.exit_code == 1
    out = result.output
    assert f"error  {folder / 'x.wav'}: 是符号链接，不予存储" in out
    assert f"error  {folder / 'outside.wav'}: 是符号链接，不予存储" in out
    assert f"error  {folder / 'linked'}: 是指向文件夹的符号链接，不进入" in out
    assert f"error  {folder / 'data'}: 是指向文件夹的符号链接，不进入" in out
    assert f"error  {folder / 'hard.wav'}: 是数据目录里的文件" in out
    assert "6 file(s): 1 stored and queued, 0 already uploaded (not queued again), 5 could not be stored" in out
    assert stored_names(db_config) == {"real.wav"}
    assert not key_in_store(db_config)


def test_a_link_named_on_the_command_line_is_refused(db_config: Config, key_file: Path, tmp_path: Path) -> None:
    link = tmp_path / "call.wav"
    link.symlink_to(key_file)
    assert run_qa(db_config, "db", "upgrade").exit_code == 0
    result = run_qa(db_config, "ingest", str(link), str(key_file))
    assert result.exit_code == 1
    assert f"error  {link}: 是符号链接，不予存储" in result.output
    assert f"error  {key_file}: 是数据目录里的文件（密钥、数据库或已存录音），不予存储" in result.output
    assert stored_names(db_config) == set()
    assert not key_in_store(db_config)


def test_the_store_refuses_data_directory_files_however_named(migrated_db: Database, db_config: Config,
                                                              key_file: Path, tmp_path: Path) -> None:
    stored = ingest_file(migrated_db, db_config, C03, "c03.wav")
    audio = db_config.data_dir / "audio" / stored.sha256[:2] / f"{stored.sha256}.wav"
    shortcut = tmp_path / "to-data"
    shortcut.symlink_to(db_config.data_dir, target_is_directory=True)
    for path in (key_file, audio, shortcut / "secret_key", db_config.data_dir / "audio"):
        with pytest.raises(IngestError) as refused:
            ingest_file(migrated_db, db_config, path, "x.wav")
        assert "不予存储" in str(refused.value) and "\n" not in str(refused.value)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="不是普通文件"):
        ingest_file(migrated_db, db_config, fifo, "pipe.wav")
    assert stored_names(db_config) == {"c03.wav"}


def test_watching_refuses_links_that_appear(db_config: Config, key_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    assert run_qa(db_config, "db", "upgrade").exit_code == 0
    settings = db_config.data_dir.parent / "qa.yaml"  # written by run_qa
    watcher = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "--config", str(settings), "ingest",
                                str(folder), "--watch", "--interval", "0.2"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        (folder / "x.wav").symlink_to(key_file)
        (folder / "linked").symlink_to(db_config.data_dir, target_is_directory=True)
        shutil.copyfile(C03, folder / "real.wav")
        deadline = time.monotonic() + 30
        while stored_names(db_config) != {"real.wav"}:
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.1)
        time.sleep(1)  # several more looks: a refused link is reported once, never stored
    finally:
        watcher.send_signal(signal.SIGTERM)
        output = watcher.communicate(timeout=30)[0].decode()
    assert watcher.returncode == 1, output
    assert output.count(f"{folder / 'x.wav'}: 是符号链接，不予存储") == 1
    assert output.count(f"{folder / 'linked'}: 是指向文件夹的符号链接，不进入") == 1
    assert "3 file(s): 1 stored and queued, 0 already uploaded (not queued again), 2 could not be stored" in output
    assert stored_names(db_config) == {"real.wav"}
    assert not key_in_store(db_config)
