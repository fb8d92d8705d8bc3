"""One recorded call in, one transcript out: decode -> ASR -> diarize -> align -> roles -> turns."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Config
from qa.errors import CallError
from qa.speech.align import assign_words_by_segments, build_turns
from qa.speech.asr import Recognition, Transcriber
from qa.speech.audio import DecodedAudio, load_audio
from qa.speech.diarization.stereo import assign_words_by_channel, diarize_stereo
from qa.speech.roles import decide_roles, two_parties_heard
from qa.speech.transcript import Transcript
from qa.speech.types import AudioInfo, Diarization, DiarizationInfo, Word

if TYPE_CHECKING:
    from qa.speech.diarization.mono import ModelOutputs

# Recognition and stereo voice detection run over pieces of the call this long at most (cut in
# quiet, DecodedAudio.pieces): their memory stays that of one piece however long the call.
PIECE_S = 600.0


def _shifted(items: list[Any], seconds: float) -> list[Any]:
    """Words or segments timed within a piece, timed within the call."""
    if not seconds:
        return items
    return [replace(x, start=round(x.start + seconds, 3), end=round(x.end + seconds, 3)) for x in items]


class SpeechPipeline:
    """Holds the loaded models so a batch pays for loading them once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._transcriber: Transcriber | None = None

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = Transcriber(self.config.asr, self.config.asr_model_path())
        return self._transcriber

    def _recognise(self, audio: DecodedAudio, pieces: list[tuple[int, int]]) -> Recognition:
        said = [(start / audio.sample_rate, self.transcriber.transcribe(audio.mono(start, end)))
                for start, end in pieces]
        return Recognition([w for at, piece in said for w in _shifted(piece.words, at)],
                           [d for at, piece in said for d in _shifted(piece.dropped, at)])

    @staticmethod
    def _diarize_stereo(audio: DecodedAudio, pieces: list[tuple[int, int]], words: list[Word]) -> Diarization:
        """One party per channel, piece by piece; each word goes to the louder channel."""
        segments = []
        for start, end in pieces:
            samples = audio.window(start, end)
            segments += _shifted(diarize_stereo(samples, audio.sample_rate), start / audio.sample_rate)
            last = end if end < pieces[-1][1] else float("inf")
            assign_words_by_channel([w for w in words if start <= w.start * audio.sample_rate < last],
                                    samples, audio.sample_rate, start)
        return Diarization(segments)

    def _hear_mono(self, audio: DecodedAudio) -> ModelOutputs | None:
        """The diarization models' pass over a mono call, which needs no words: it runs beside
        recognition (on two cores, 4.7-5.3 s -> 3.7-4.1 s for a 26 s call, recognition as fast
        on one thread as on two here)."""
        from qa.speech.diarization.mono import hear_mono

        return hear_mono(audio, self.config.models_dir)

    def _diarize_mono(self, audio: DecodedAudio, words: list[Word],
                      heard: Future[ModelOutputs | None] | None) -> tuple[Diarization, str]:
        """Speakers of a mono call. One voice heard throughout is kept only while the words show
        no second party either; otherwise the call is split in two all the same."""
        cfg = self.config.diarization
        if heard is None:  # cfg.backend == "pyannote"
            from qa.speech.diarization.pyannote_backend import diarize_with_pyannote

            return Diarization(diarize_with_pyannote(audio.mono(), audio.sample_rate, cfg)), "pyannote.audio"
        from qa.speech.diarization.mono import decide_speakers

        diarized = decide_speakers(
            heard.result(),
            num_speakers=cfg.num_speakers,
            max_speakers=cfg.max_speakers,
            expected_speakers=cfg.expected_speakers,
            two_parties=two_parties_heard(words),
        )
        return diarized, "pyannote-segmentation-3.0+campplus (onnx)"

    def process(self, path: str | Path, on_stage: Callable[[str], None] | None = None) -> Transcript:
        """Transcribe one recording; `on_stage` hears "decode", "asr" and "diarize" as each begins,
        so a job queue can show where a long call is."""
        path = Path(path)
        announce = on_stage or (lambda _stage: None)
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round(now - clock, 3)
            clock = now

        announce("decode")
        with load_audio(path, self.config.audio) as audio, ThreadPoolExecutor(1) as beside:
            lap("decode")
            announce("asr")
            mono_models = audio.channels == 1 and self.config.diarization.backend != "pyannote"
            heard = beside.submit(self._hear_mono, audio) if mono_models else None
            pieces = audio.pieces(PIECE_S)  # the same cuts for recognition and stereo diarization
            recognition = self._recognise(audio, pieces)
            words = recognition.words
            lap("asr")
            if not words:
                unlikely = (f" ({len(recognition.dropped)} word(s) dropped as unlikely speech)"
                            if recognition.dropped else "")
                raise CallError(path, f"no speech recognised in {audio.duration:.1f} s of audio{unlikely}")
            announce("diarize")  # on mono calls, its models' pass may be done already
            stereo_roles = None
            if audio.channels == 2:
                diarized = self._diarize_stereo(audio, pieces, words)
                method, stereo_roles = "stereo channels", [str(role) for role in self.config.diarization.stereo_roles]
            else:
                diarized, method = self._diarize_mono(audio, words, heard)
                assign_words_by_segments(words, diarized.segments)
            segments = diarized.segments
            lap("diarize")

        speakers = sorted({s.speaker for s in segments} | {w.speaker for w in words if w.speaker})
        decision = decide_roles(words, speakers, stereo_roles, diarized)
        turns = build_turns(words, decision.speakers, self.config.turns.max_gap_s)
        lap("align")
        return Transcript(
            call_id=path.stem,
            audio=AudioInfo(
                path=str(path), sha256=audio.sha256, duration=round(audio.duration, 3), source_rate=audio.source_rate,
                source_channels=audio.source_channels, channels=audio.channels, codec=audio.codec,
                container=audio.container, note=audio.note, warnings=audio.warnings,
            ),
            asr=self.transcriber.describe(recognition.dropped),
            diarization=DiarizationInfo(method=method, num_speakers=len(speakers), stereo_roles=stereo_roles,
                                        separation=diarized.separation),
            roles=decision,
            segments=segments,
            turns=turns,
            timings=timings,
        )
