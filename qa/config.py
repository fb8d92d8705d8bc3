"""Settings: defaults that work out of the box, overridable by a YAML file and QA_* variables.

Looked up in order: the file given with --config, $QA_CONFIG, ./qa.yaml. Every figure here is
the product's own default (the centre documents give none) and can be changed in that file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qa.errors import QAError, validation_problems
from qa.modelstore.manifest import default_models_dir


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AudioConfig(_Section):
    sample_rate: int = 16000
    max_duration_s: float = Field(default=4 * 3600, description="longer recordings are refused, not truncated")
    silence_dbfs: float = Field(default=-60.0, description="peak level below which a recording counts as silent")


class AsrConfig(_Section):
    model: str = Field(default="whisper-base", description="a model name under models_dir, or a path to any "
                               "CTranslate2 Whisper model directory")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field(default="auto", description="auto: float16 on CUDA, int8 on CPU")
    cpu_threads: int = Field(default=0, description="CPU threads for recognition; 0: half the cores, 1 to 4 "
                             "(the diarization models of a mono call run beside it)")
    language: str = "zh"
    beam_size: int = 5
    vad_filter: bool = True
    vad_min_silence_ms: int = 500
    initial_prompt: str | None = Field(
        default=None,
        description="text Whisper reads as if it came before the audio; off by default because with "
        "whisper-base the prompt 以下是普通话的客服电话录音。 made it end windows early and drop whole turns "
        "(CER of the 12 samples with mono_eval's tuning half 23.0 -> 20.7 % without it, with its test half "
        "24.2 -> 20.9 %; docs/benchmarks.md)",
    )
    hotwords: list[str] = Field(
        default_factory=list,
        description="phrases to bias recognition towards; off by default because with whisper-base they "
        "raised the samples' CER from 13 % to 24 % (bench/asr.py); try them with larger models",
    )
    to_simplified: bool = True
    batch_size: int = Field(default=8, description="batched inference on CUDA (BatchedInferencePipeline)")


ChannelRole = Literal["agent", "customer"]


def _agent_then_customer() -> list[ChannelRole]:
    return ["agent", "customer"]


class DiarizationConfig(_Section):
    backend: Literal["onnx", "pyannote"] = "onnx"
    pyannote_pipeline: str | None = Field(
        default=None, description="local pyannote.audio pipeline directory or config.yaml (backend: pyannote)")
    stereo_roles: list[ChannelRole] = Field(
        default_factory=_agent_then_customer,
        description="role of channel 0 and channel 1 in stereo recordings")
    num_speakers: int | None = Field(default=None, description="force a speaker count for mono calls")
    expected_speakers: int = 2
    max_speakers: int = 4


class TurnConfig(_Section):
    max_gap_s: float = Field(default=2.0, description="a longer pause inside one speaker's speech starts a new turn")


class ScoringConfig(_Section):
    checklists_dir: Path | None = Field(
        default=None, description="folder of checklist YAML files; default: the bundled qa/checklists")
    template: Path | None = Field(
        default=None, description="scoring template; default: scoring.yaml in checklists_dir, else the bundled one")


class JobsConfig(_Section):
    queue: Literal["database", "celery"] = Field(
        default="database", description="database: `qa worker` processes take jobs from the database; celery: a "
        "Celery broker (Redis) hands them to `qa worker` processes on any machine (docs/operators.md: scale-out)")
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="the Celery broker (queue: celery)")
    celery_queue: str = Field(default="qa", description="the broker queue's name (several centres may share a broker)")
    heartbeat_s: float = Field(
        default=10.0, gt=0, description="how often a worker says it is alive while processing a call")
    stale_after_s: float = Field(
        default=60.0, gt=0, description="a running job without a heartbeat this long is taken back (its worker died)")
    max_attempts: int = Field(default=3, ge=1, description="a call whose worker died this often is parked as failed")


class TallyConfig(_Section):
    policy: Path | None = Field(
        default=None,
        description="reward-and-penalty policy YAML (qa.policy/1); default: the bundled qa/policies/default.yaml")


class LearningConfig(_Section):
    """Models learned from inspectors' verdicts (qa.learning); every figure is the product's default."""

    retrain_every_hours: float = Field(
        default=168.0, gt=0,
        description="a worker retrains when the last version is this old and new calls were confirmed")
    min_calls: int = Field(default=30, ge=2, description="labelled calls needed before a model is trained")
    max_calls: int = Field(
        default=2000, ge=2, description="a version learns from the latest this many labelled calls (memory and time "
        "grow with them: docs/benchmarks.md)")
    held_out_share: float = Field(
        default=0.2, ge=0, lt=1,
        description="share of the latest labelled calls each version is scored on, not trained on")
    flag_above: float = Field(
        default=0.7, gt=0.5, le=1, description="rules and model disagree on an item when the model gives the other "
        "verdict at least this probability")
    auto_activate: bool = Field(default=True, description="a newly trained version orders the queue at once")


class SignInConfig(_Section):
    """Back-off on password guessing (product defaults): after `free_failures` wrong passwords for
    one user name within `window_minutes`, each further attempt waits `first_wait_s`, doubling up
    to `max_wait_s`; one address gets `address_free_failures` across all user names."""

    free_failures: int = Field(default=5, ge=1)
    address_free_failures: int = Field(default=20, ge=1)
    first_wait_s: float = Field(default=2.0, gt=0)
    max_wait_s: float = Field(default=900.0, gt=0)
    window_minutes: float = Field(default=15.0, gt=0)


class ReviewConfig(_Section):
    sample_rate: float = Field(
        default=0.1, ge=0, le=1, description="share of passing calls drawn into the inspector queue (product default)")


class WebConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 5000
    processes: int = Field(
        default=1, ge=1, description="web server processes; above 1 gunicorn serves (Linux, macOS) and calls are "
        "processed by a process of their own (product default 1: enough for a few reviewers; see docs/operators.md)")
    secret_key: str | None = Field(
        default=None, description="session signing key; default: a random key kept in data_dir")
    default_locale: Literal["zh", "en"] = "zh"
    secure_cookies: bool = Field(default=False, description="send the session cookie over HTTPS only (set behind TLS)")
    session_hours: float = Field(
        default=10.0, gt=0, description="a sign-in lasts at most this long (product default: a working day); "
        "signing out, a password change or deactivation ends it sooner")
    sign_in: SignInConfig = Field(default_factory=SignInConfig)


class Config(_Section):
    models_dir: Path = Field(default_factory=default_models_dir)
    data_dir: Path = Field(default=Path("data"), description="database, uploaded audio and keys ($QA_DATA_DIR)")
    database_url: str | None = Field(default=None, description="any SQLAlchemy URL; default: SQLite in data_dir")
    timezone: str = Field(
        default="Asia/Shanghai", description="the centre's time zone: dates are shown in it, metadata times without "
        "an offset are read in it, weeks are counted in it")
    audio: AudioConfig = Field(default_factory=AudioConfig)
    asr: AsrConfig = Field(default_factory=AsrConfig)
    diarization: DiarizationConfig = Field(default_factory=DiarizationConfig)
    turns: TurnConfig = Field(default_factory=TurnConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    tally: TallyConfig = Field(default_factory=TallyConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    @model_validator(mode="before")
    @classmethod
    def _moved_from_web(cls, data: Any) -> Any:
        """Settings files written before these left the web section still load: web.timezone is
        `timezone`, web.review_sample_rate is review.sample_rate."""
        web = data.get("web") if isinstance(data, dict) else None
        if not isinstance(web, dict) or not {"timezone", "review_sample_rate"} & web.keys():
            return data
        data, web = dict(data), dict(web)
        moved = {"timezone": ("timezone",), "review_sample_rate": ("review", "sample_rate")}
        for old, new in moved.items():
            if old not in web:
                continue
            section = data
            for key in new[:-1]:
                section = data[key] = dict(data.get(key) or {})
            if new[-1] in section:
                raise ValueError(f"web.{old} is the older name of {'.'.join(new)}: set only {'.'.join(new)}")
            section[new[-1]] = web.pop(old)
        data["web"] = web
        return data

    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'qa.db').resolve()}"

    def asr_model_path(self) -> Path:
        candidate = Path(self.asr.model).expanduser()
        return candidate if candidate.is_dir() else self.models_dir / self.asr.model


class ConfigError(QAError, ValueError):
    """The configuration file is unreadable or has a wrong setting."""

    code = "config"


def load_config(path: str | Path | None = None) -> Config:
    """Read settings from `path`, $QA_CONFIG or ./qa.yaml (whichever comes first), else defaults."""
    candidates = [path, os.environ.get("QA_CONFIG"), "qa.yaml"]
    chosen = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if path and chosen != Path(path):
        raise ConfigError(f"{path}: configuration file not found")
    data: dict[str, Any] = {}
    if chosen is not None:
        try:
            data = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{chosen}: not valid YAML: {exc}") from exc
    if os.environ.get("QA_DATA_DIR") and "data_dir" not in data:
        data["data_dir"] = os.environ["QA_DATA_DIR"]
    if os.environ.get("QA_DATABASE_URL") and "database_url" not in data:
        data["database_url"] = os.environ["QA_DATABASE_URL"]
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{chosen}: {validation_problems(exc)}") from exc
