"""What the product keeps to itself: the SQLite database and its data folder readable by their
owner only, and the server's temporary paths out of what an upload's page says."""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from webworld import SAMPLES, World, login

from qa.config import Config
from qa.db.models import Call
from qa.db.session import open_database, upgrade


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems give (0022: new files world-readable unless made otherwise)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.usefixtures("usual_umask")
def test_the_database_and_its_folder_are_the_owners_only(tmp_path: Path) -> None:
    for config, database_file in [(Config(data_dir=tmp_path / "data"), tmp_path / "data" / "qa.db"),
                                  (Config(data_dir=tmp_path / "d2", database_url=f"sqlite:///{tmp_path}/db/x.db"),
                                   tmp_path / "db" / "x.db")]:
        database = open_database(config)
        upgrade(database)
        with database.engine.connect():  # the write-ahead log and its index exist while connected
            for path in (database_file, Path(f"{database_file}-wal"), Path(f"{database_file}-shm")):
                assert _mode(path) == 0o600, path
        database.dispose()
        assert _mode(config.data_dir) == 0o700 and _mode(database_file.parent) == 0o700


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_database_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    for mode in (0o600, 0o640):
        database = open_database(config)
        upgrade(database)
        database.dispose()
        assert _mode(config.data_dir / "qa.db") == mode
        (config.data_dir / "qa.db").chmod(0o640)


def test_metadata_problems_name_the_uploaded_csv(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    wav = (SAMPLES / "calls" / "c03_bare_wei.wav").read_bytes()
    sheet = "文件,坐席工号\nc03.wav,A3003,多余\n".encode()
    html = client.post("/upload", data={"files": [(io.BytesIO(wav), "c03.wav")],
                                        "metadata": (io.BytesIO(sheet), "十一月坐席表.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "十一月坐席表.csv:2: 有 3 列，表头有 2 列" in html
    assert tempfile.gettempdir() not in html and "metadata.csv" not in html


def test_a_binary_file_sent_as_the_csv_is_refused_and_the_recordings_kept(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    wav = (SAMPLES / "calls" / "c03_bare_wei.wav").read_bytes()
    workbook = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8  # an .xlsx, say
    response = client.post("/upload", data={"files": [(io.BytesIO(wav), "c03.wav")],
                                            "metadata": (io.BytesIO(workbook), "坐席表.xlsx")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "坐席表.xlsx: 不是文本 CSV" in html
    with world.db.session() as s:
        assert s.scalars(select(Call).where(Call.original_name == "c03.wav")).one().state == "queued"
