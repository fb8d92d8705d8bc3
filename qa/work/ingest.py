"""Ingest: recordings into content-addressed storage, one Call row per distinct audio, one job each.

The audio's SHA-256 is its identity: the same recording uploaded twice (under any name, by any
route) is one call, and its file lives at data_dir/audio/<sha[:2]>/<sha><suffix>, a path built
only from the hash and a whitelisted suffix, never from what the user sent. Call metadata (agent,
team, direction, start time, customer number) comes from a CSV beside the recordings or, failing
that, from the file name; a call without any is still stored, without an agent.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qa.access import CallState, JobState
from qa.config import Config
from qa.db.models import Agent, Call, Job, Team
from qa.db.session import Database
from qa.errors import QAError
from qa.files import AUDIO_SUFFIXES
from qa.work.celery_queue import announce

NAME_PATTERN = "<agent_id>_<YYYYmmdd-HHMMSS>_<in|out>.<ext>"
_NAME_RE = re.compile(r"^(?P<agent>[^_]+)_(?P<started>\d{8}-\d{6})_(?P<direction>in|out)$", re.IGNORECASE)
_CHUNK = 1 << 20
LINK_REFUSED = "是符号链接，不予存储：请直接导入它指向的文件"  # a link may point anywhere, the data directory included

DIRECTIONS = {
    "inbound": ("inbound", "in", "呼入", "来电", "incoming"),
    "outbound": ("outbound", "out", "呼出", "去电", "outgoing"),
}
# Messages are in Chinese: they are shown to the centre's staff on the upload page.
DIRECTION_NAMES = {"inbound": "呼入", "outbound": "呼出"}
# Accepted CSV headers per field; a trailing "(…)" on a header is ignored: 呼叫方向(呼入/呼出).
COLUMNS = {
    "file": ("file", "文件", "文件名"),
    "agent_id": ("agent_id", "坐席工号", "工号"),
    "agent_name": ("agent_name", "坐席姓名"),
    "team": ("team", "班组"),
    "direction": ("direction", "呼叫方向"),
    "started_at": ("started_at", "开始时间"),
    "customer_number": ("customer_number", "客户号码"),
    "satisfaction": ("satisfaction", "满意度", "客户满意度"),
}
# The customer's answer to the post-call survey, as IVR systems export it.
SATISFACTION = {
    "satisfied": ("satisfied", "满意", "非常满意", "很满意"),
    "neutral": ("neutral", "一般", "基本满意"),
    "unsatisfied": ("unsatisfied", "不满意", "非常不满意", "很不满意"),
}
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S")  # besides ISO 8601
LENGTH_LIMITS = {"agent_code": 50, "agent_name": 100, "team": 100}  # the database columns' sizes


class IngestError(QAError, ValueError):
    """A recording could not be stored (unreadable, empty, or refused: a link, not a regular file,
    a data directory file); the message is one line."""

    code = "ingest"


class MetadataError(QAError, ValueError):
    """A metadata value cannot be used; the message says which and why."""

    code = "metadata"


@dataclass(frozen=True)
class CallMetadata:
    """What is known about a call besides its audio. `source` says where it came from."""

    agent_code: str | None = None
    agent_name: str = ""
    team: str = ""
    direction: str | None = None  # inbound | outbound | None: inferred when scoring
    started_at: datetime | None = None  # as written; without an offset it is the centre's time (timezone)
    customer_number: str = ""  # as given; only the masked form is stored
    satisfaction: str | None = None  # satisfied | neutral | unsatisfied | None: not surveyed
    source: str = ""


@dataclass(frozen=True)
class MetadataSheet:
    """A metadata CSV read whole: usable rows by file name, and one line per bad row."""

    rows: dict[str, CallMetadata]
    problems: list[str]


@dataclass(frozen=True)
class IngestResult:
    call_id: int
    sha256: str
    created: bool  # False: this audio was already uploaded; nothing new was queued
    message: str  # one line for the person who uploaded


def _choice(text: str, spellings: Mapping[str, tuple[str, ...]], column: str, expected: str) -> str | None:
    """The value that `text` spells (any of its spellings, any case), None for an empty cell."""
    value = text.strip().lower()
    if not value:
        return None
    for choice, accepted in spellings.items():
        if value in accepted:
            return choice
    raise MetadataError(f"{column} {text!r} 应为 {expected}")


def parse_direction(text: str) -> str | None:
    return _choice(text, DIRECTIONS, "呼叫方向", "呼入/呼出、in/out 或 inbound/outbound")


def parse_satisfaction(text: str) -> str | None:
    return _choice(text, SATISFACTION, "满意度", "满意、一般 或 不满意")


def parse_started_at(text: str) -> datetime | None:
    """A start time in ISO 8601 or a common spreadsheet form, with or without a UTC offset."""
    value = text.strip()
    if not value:
        return None
    parsed = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise MetadataError(f"开始时间 {text!r} 不是日期时间，应如 2026-11-23 14:05:00")
    return parsed


def mask_number(number: str) -> str:
    """Keep the last four digits, and the first three of a full-length number: 138****5678.

    A country prefix (+86 / 0086 / 86) is dropped first; four digits or fewer are masked whole.
    """
    digits = re.sub(r"\D", "", number)
    digits = re.sub(r"^(00)?86(?=\d{11}$)", "", digits)
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 3 if len(digits) >= 11 else 0
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def safe_name(original_name: str) -> str:
    """The file name to show people: its last path component, without control characters (NUL)."""
    name = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] if name.strip(".") else "unnamed"


def metadata_from_name(name: str) -> CallMetadata | None:
    """Metadata from a file named <agent_id>_<YYYYmmdd-HHMMSS>_<in|out>.<ext>, else None."""
    match = _NAME_RE.match(Path(name).stem)
    if match is None:
        return None
    try:
        started_at = parse_started_at(match["started"])
    except MetadataError:  # the pattern's shape but no real time: 20261399-250000
        return None
    return CallMetadata(agent_code=match["agent"], direction=parse_direction(match["direction"]),
                        started_at=started_at, source="文件名")


def _header_field(header: str) -> str | None:
    key = re.sub(r"[（(].*[)）]$", "", header.strip().lstrip("\ufeff")).strip().lower()
    return next((field for field, names in COLUMNS.items() if key in names), None)


def _decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GB18030: what Excel writes on Chinese Windows; None when
    it is neither (a spreadsheet or another binary file sent as the CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else text
    return None


def _row_metadata(values: dict[str, str], source: str) -> CallMetadata:
    metadata = CallMetadata(
        agent_code=values.get("agent_id", "").strip() or None,
        agent_name=values.get("agent_name", "").strip(),
        team=values.get("team", "").strip(),
        direction=parse_direction(values.get("direction", "")),
        started_at=parse_started_at(values.get("started_at", "")),
        customer_number=values.get("customer_number", "").strip(),
        satisfaction=parse_satisfaction(values.get("satisfaction", "")),
        source=source,
    )
    for field, limit in LENGTH_LIMITS.items():
        if len(getattr(metadata, field) or "") > limit:
            raise MetadataError(f"{field.replace('_', ' ')} 超过 {limit} 个字符")
    return metadata


def read_metadata_csv(path_or_text: Path | str) -> MetadataSheet:
    """Read a metadata CSV (a Path is read from disk; a str is the CSV's content).

    Columns: file, agent_id, agent_name, team, direction, started_at, customer_number, satisfaction,
    or their Chinese headers (文件, 坐席工号, 坐席姓名, 班组, 呼叫方向(呼入/呼出), 开始时间, 客户号码, 满意度).
    Only `file` is required. A bad row is left out and reported as "<source>:<line>: <reason>".
    """
    if isinstance(path_or_text, Path):
        text, source = _decode(path_or_text.read_bytes()), str(path_or_text)
    else:
        text, source = path_or_text.lstrip("\ufeff"), "metadata"
    if text is None:
        return MetadataSheet({}, [f"{source}: 不是文本 CSV（应为 UTF-8 或 GB18030 编码的 .csv，不是 Excel 文件）"])
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    fields = [_header_field(h) for h in header]
    if "file" not in fields:
        return MetadataSheet({}, [f"{source}:1: 表头没有文件列（文件 或 file）"])
    rows: dict[str, CallMetadata] = {}
    lines: dict[str, int] = {}
    problems: list[str] = []
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(f"{source}:{line}: 有 {len(record)} 列，表头有 {len(header)} 列")
            continue
        values = {field: cell for field, cell in zip(fields, record, strict=True) if field}
        name = safe_name(values["file"]) if values["file"].strip() else ""
        if not name:
            problems.append(f"{source}:{line}: 没有文件名")
        elif name in lines:
            problems.append(f"{source}:{line}: {name} 已在第 {lines[name]} 行填写过")
        else:
            lines[name] = line
            try:
                rows[name] = _row_metadata(values, f"CSV 第 {line} 行")
            except MetadataError as exc:
                problems.append(f"{source}:{line}: {exc}")
    return MetadataSheet(rows, problems)


def audio_file(config: Config, call: Call) -> Path:
    """Where a call's recording lives on disk."""
    return config.data_dir / call.audio_path


def _copy_hashing(source: IO[bytes], directory: Path) -> tuple[Path, str, int]:
    """Copy a stream to a temporary file in `directory` while hashing it: (temp path, sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    with os.fdopen(handle, "wb") as out:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return Path(temp), digest.hexdigest(), size


def _data_dir_file(config: Config, path: Path, opened: os.stat_result) -> bool:
    """Whether `path` is the data directory's own: inside it (however reached), or another name
    (a hard link) for one of the files at its top (secret_key, qa.db)."""
    data_dir = config.data_dir.resolve()
    if Path(os.path.realpath(path)).is_relative_to(data_dir):
        return True
    with os.scandir(data_dir) as entries:
        return any(entry.is_file(follow_symlinks=False) and entry.inode() == opened.st_ino
                   and entry.stat(follow_symlinks=False).st_dev == opened.st_dev for entry in entries)


def _open_recording(config: Config, path: Path) -> BinaryIO:
    """Open a recording named by its path: a regular file, never through a symbolic link and never
    one of the data directory's own files, whose contents would otherwise be served as the call's audio."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError(LINK_REFUSED) from exc
        raise IngestError(f"无法读取录音：{exc.strerror or exc}") from exc
    opened = os.fstat(handle)
    reason = ("不是普通文件，不予存储" if not stat.S_ISREG(opened.st_mode) else
              "是数据目录里的文件（密钥、数据库或已存录音），不予存储" if _data_dir_file(config, path, opened) else None)
    if reason:
        os.close(handle)
        raise IngestError(reason)
    return os.fdopen(handle, "rb")


def _receive(config: Config, path_or_stream: str | Path | IO[bytes]) -> tuple[Path, str]:
    """The upload in a temporary file beside the audio store, and its SHA-256."""
    incoming = config.data_dir / "audio"
    incoming.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(path_or_stream, (str, Path)):
            with _open_recording(config, Path(path_or_stream)) as source:
                temp, sha, size = _copy_hashing(source, incoming)
        else:
            temp, sha, size = _copy_hashing(path_or_stream, incoming)
    except OSError as exc:
        raise IngestError(f"无法读取录音：{exc.strerror or exc}") from exc
    if size == 0:
        temp.unlink()
        raise IngestError("文件为空")
    return temp, sha


def _place(source: Path, target: Path) -> None:
    """Move a received file to its place in the store, unless a file with the same hash is there
    (which also restores a stored call's file that went missing)."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def _agent(session: Session, metadata: CallMetadata) -> Agent | None:
    """The agent by code, created if new; an existing agent's missing name or team is filled in."""
    if metadata.agent_code is None:
        return None
    agent = session.scalars(select(Agent).where(Agent.code == metadata.agent_code)).first()
    if agent is None:
        agent = Agent(code=metadata.agent_code, name=metadata.agent_name)
        session.add(agent)
    agent.name = agent.name or metadata.agent_name
    if metadata.team and agent.team is None:
        team = session.scalars(select(Team).where(Team.name == metadata.team)).first()
        agent.team = team or Team(name=metadata.team)
    return agent


def _describe(call: Call, metadata: CallMetadata | None, original_name: str) -> str:
    if metadata is None:
        return (f"已存为通话 {call.id}，未关联坐席：元数据中没有 {original_name}，"
                f"文件名也不符合 {NAME_PATTERN}")
    known = [f"坐席 {metadata.agent_code}" if metadata.agent_code else "无坐席",
             DIRECTION_NAMES.get(metadata.direction or "", "方向待推断"),
             metadata.started_at.isoformat(" ", "minutes") if metadata.started_at else "无开始时间"]
    return f"已存为通话 {call.id}（{'，'.join(known)}；来自{metadata.source}）"


def _store_call(session: Session, sha: str, audio_path: str, name: str,
                metadata: CallMetadata | None) -> tuple[Call, bool]:
    existing = session.scalars(select(Call).where(Call.sha256 == sha)).first()
    if existing is not None:
        return existing, False
    meta = metadata or CallMetadata()
    call = Call(
        sha256=sha, audio_path=audio_path, original_name=name, agent=_agent(session, meta),
        direction=meta.direction, customer_number=mask_number(meta.customer_number), state=CallState.QUEUED,
        satisfaction=meta.satisfaction,
        started_at=meta.started_at.astimezone(UTC) if meta.started_at else None,
    )
    session.add(call)
    session.flush()
    session.add(Job(kind="process", call_id=call.id, state=JobState.QUEUED))
    return call, True


def ingest_file(db: Database, config: Config, path_or_stream: str | Path | IO[bytes], original_name: str,
                metadata: CallMetadata | None = None) -> IngestResult:
    """Store one recording and queue it for processing; the same audio twice is one call.

    `metadata` is the CSV row for this file, if any; without it the file name pattern is tried,
    and without that the call is stored without an agent (the message says so). A start time
    without a UTC offset is in the centre's time zone (timezone); it is stored in UTC. The audio is
    not checked here: a file that is not audio fails its processing job with the reason.
    """
    name = safe_name(original_name)
    metadata = metadata or metadata_from_name(name)
    if metadata and metadata.started_at and metadata.started_at.tzinfo is None:
        metadata = replace(metadata, started_at=metadata.started_at.replace(tzinfo=ZoneInfo(config.timezone)))
    temp, sha = _receive(config, path_or_stream)
    suffix = Path(name).suffix.lower()
    relative = f"audio/{sha[:2]}/{sha}{suffix if suffix in AUDIO_SUFFIXES else ''}"
    try:
        _place(temp, config.data_dir / relative)  # before the job exists, so a worker always finds the file
        try:
            with db.session() as session:
                call, created = _store_call(session, sha, relative, name, metadata)
        except IntegrityError:  # a concurrent upload of the same audio or agent won; it is committed now
            with db.session() as session:
                call, created = _store_call(session, sha, relative, name, metadata)
        if call.audio_path != relative:  # this audio was stored before under another suffix
            _place(config.data_dir / relative, config.data_dir / call.audio_path)
            (config.data_dir / relative).unlink(missing_ok=True)
    finally:
        temp.unlink(missing_ok=True)
    if not created:
        return IngestResult(call.id, sha, False, f"已上传过：通话 {call.id}（{call.original_name}），"
                                                 "不再重复处理")
    announce(config)
    return IngestResult(call.id, sha, True, _describe(call, metadata, name))
