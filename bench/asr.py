"""Accuracy and speed of the speech pipeline on the bundled sample calls.

Prints, per call and overall: character error rate (CER) against the truth text; the share of
recognised words attributed to the right role (stereo and mono separately); diarization error
on speech time (the share of truth speech time given to the wrong role or missed); and the
real-time factor (processing time / audio duration) of the whole pipeline beside plain
faster-whisper run with the same model and transcription settings on the same files in the same
run. Their ratio is the pipeline's overhead (decoding, diarization, alignment, roles).

`--set mono_eval` runs the mono evaluation set instead (samples/mono_eval, calls no threshold was
tuned on; `--half test`, the default, is the held-out half of its fixed split) and adds, per call,
role accuracy (share of truth speech time whose role the pipeline's segments give right), the
diarization error rate from pyannote.metrics (roles as speakers, no collar, overlap scored), the
number of speakers found, and the calibration of the role confidence.

    python bench/asr.py [--calls ID ...] [--json results.json]
    python bench/asr.py --set mono_eval [--half test|tune|all]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import load_config
from qa.evaluation import char_edits, true_role_of_word
from qa.speech.asr import Transcriber
from qa.speech.pipeline import SpeechPipeline
from qa.speech.transcript import Transcript

SAMPLES = REPO_ROOT / "samples"
FRAME_S = 0.01


@dataclass
class CallResult:
    call_id: str
    channels: int
    duration: float
    cer: float
    ref_chars: int
    edits: int
    words: int
    words_right_role: int
    speech_error: float
    pipeline_s: float
    baseline_s: float
    agent_confidence: float
    asr_s: float  # the pipeline's own ASR stage; the rest is decoding, diarization, alignment
    diarize_s: float
    speakers: int
    der: float
    review: list[str]


def speech_time_error(transcript: Transcript, truth: dict) -> float:
    """Share of truth speech frames not labelled with their role by the pipeline's speaker segments."""
    n = int(truth["duration"] / FRAME_S) + 1
    error = total = 0
    predicted = {role: np.zeros(n, bool) for role in ("agent", "customer")}
    for seg in transcript.segments:
        role = transcript.roles.speakers.get(seg.speaker)
        if role in predicted:
            predicted[role][int(seg.start / FRAME_S): int(seg.end / FRAME_S)] = True
    for role in ("agent", "customer"):
        reference = np.zeros(n, bool)
        for turn in truth["turns"]:
            if turn["role"] == role:
                reference[int(turn["start"] / FRAME_S): int(turn["end"] / FRAME_S)] = True
        total += int(reference.sum())
        error += int((reference & ~predicted[role]).sum())
    return error / max(total, 1)


def diarization_error_rate(transcript: Transcript, truth: dict) -> float:
    """DER by pyannote.metrics with roles as speaker names (so a wrong agent pick counts as
    confusion): missed speech, false alarm and confusion over truth speech time."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for i, turn in enumerate(truth["turns"]):
        reference[Segment(turn["start"], turn["end"]), i] = turn["role"]
    for i, seg in enumerate(transcript.segments):
        hypothesis[Segment(seg.start, seg.end), i] = transcript.roles.speakers.get(seg.speaker, seg.speaker)
    uem = Timeline([Segment(0, truth["duration"])])
    return float(DiarizationErrorRate(skip_overlap=False)(reference, hypothesis, uem=uem))


def plain_faster_whisper(asr: Transcriber, audio: Path) -> float:
    """Seconds plain faster-whisper takes on the file, with the pipeline's model and settings:
    the baseline the pipeline's speed is compared with."""
    started = time.perf_counter()
    segments, _ = asr.model.transcribe(
        str(audio), language=asr.config.language, beam_size=asr.config.beam_size, word_timestamps=True,
        vad_filter=asr.config.vad_filter, vad_parameters={"min_silence_duration_ms": asr.config.vad_min_silence_ms},
        initial_prompt=asr.config.initial_prompt, hotwords=" ".join(asr.config.hotwords) or None,
        condition_on_previous_text=False,
    )
    list(segments)  # the generator does the work
    return time.perf_counter() - started


def evaluate(pipeline: SpeechPipeline, audio: Path, truth: dict) -> CallResult:
    started = time.perf_counter()
    transcript = pipeline.process(audio)
    pipeline_s = time.perf_counter() - started

    baseline_s = plain_faster_whisper(pipeline.transcriber, audio)

    edits, ref_chars = char_edits("".join(t["text"] for t in truth["turns"]),
                                  "".join(t.text for t in transcript.turns))
    words = transcript.words
    right = sum(true_role_of_word(w.text, w.start, w.end, truth["turns"]) == transcript.roles.speakers.get(w.speaker)
                for w in words)
    return CallResult(
        call_id=truth["call_id"], channels=transcript.audio.channels, duration=transcript.audio.duration,
        cer=edits / max(ref_chars, 1), ref_chars=ref_chars, edits=edits, words=len(words),
        words_right_role=right, speech_error=speech_time_error(transcript, truth),
        pipeline_s=pipeline_s, baseline_s=baseline_s, agent_confidence=transcript.roles.confidence,
        asr_s=transcript.timings["asr"], diarize_s=transcript.timings["diarize"],
        speakers=transcript.diarization.num_speakers, der=diarization_error_rate(transcript, truth),
        review=transcript.roles.review,
    )


def summarise(results: list[CallResult]) -> dict:
    def share(rs: list[CallResult]) -> float | None:
        words = sum(r.words for r in rs)
        return sum(r.words_right_role for r in rs) / words if words else None

    stereo = [r for r in results if r.channels == 2]
    mono = [r for r in results if r.channels == 1]
    audio_s = sum(r.duration for r in results)
    pipeline_s = sum(r.pipeline_s for r in results)
    baseline_s = sum(r.baseline_s for r in results)
    return {
        "calls": len(results),
        "audio_seconds": round(audio_s, 1),
        "cer": sum(r.edits for r in results) / max(sum(r.ref_chars for r in results), 1),
        "words_right_role_stereo": share(stereo),
        "words_right_role_mono": share(mono),
        "speech_time_error_stereo": float(np.mean([r.speech_error for r in stereo])) if stereo else None,
        "speech_time_error_mono": float(np.mean([r.speech_error for r in mono])) if mono else None,
        "rtf_pipeline": pipeline_s / audio_s,
        "rtf_faster_whisper": baseline_s / audio_s,
        "overhead": pipeline_s / baseline_s - 1,
        "non_asr_share": 1 - sum(r.asr_s for r in results) / pipeline_s,
        "rtf_diarize": sum(r.diarize_s for r in results) / audio_s,
        "role_accuracy_mono_mean": float(np.mean([1 - r.speech_error for r in mono])) if mono else None,
        "role_accuracy_mono_min": float(np.min([1 - r.speech_error for r in mono])) if mono else None,
        "der_mono": float(np.mean([r.der for r in mono])) if mono else None,
        "mono_one_speaker": sum(r.speakers < 2 for r in mono),
        **calibration(mono),
    }


def calibration(results: list[CallResult], sure: float = 0.9) -> dict:
    """Role accuracy among the calls whose role confidence is at least `sure`, and among the rest."""
    confident = [1 - r.speech_error for r in results if r.agent_confidence >= sure]
    unsure = [1 - r.speech_error for r in results if r.agent_confidence < sure]
    return {
        "confident_calls": len(confident),
        "confident_accuracy_min": min(confident) if confident else None,
        "unsure_calls": len(unsure),
        "unsure_accuracy_min": min(unsure) if unsure else None,
    }


def eval_set(name: str, half: str) -> tuple[Path, list[dict], dict[str, Path]]:
    """(folder, truths, audio file per call id) of a call set: the samples or the mono evaluation set."""
    if name == "samples":
        truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))]
        return SAMPLES, truths, {t["call_id"]: SAMPLES / "calls" / f"{t['call_id']}.wav" for t in truths}
    folder = SAMPLES / "mono_eval"
    with (folder / "split.csv").open(encoding="utf-8") as fh:
        halves = {row["call_id"]: row["half"] for row in csv.DictReader(fh)}
    truths = [json.loads((folder / "truth" / f"{c}.json").read_text(encoding="utf-8"))
              for c in sorted(halves) if half == "all" or halves[c] == half]
    return folder, truths, {t["call_id"]: folder / "calls" / t["file"] for t in truths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", nargs="*", help="sample call ids (default: all)")
    parser.add_argument("--config", help="qa settings file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--set", choices=["samples", "mono_eval"], default="samples", help="which calls")
    parser.add_argument("--half", choices=["test", "tune", "all"], default="test",
                        help="mono_eval: which half of the fixed split (default: the held-out one)")
    args = parser.parse_args()

    _, truths, files = eval_set(args.set, args.half)
    if args.calls:
        truths = [t for t in truths if t["call_id"] in args.calls]
    pipeline = SpeechPipeline(load_config(args.config))
    # Load every model once before timing, so neither side pays for loading.
    pipeline.process(files[truths[0]["call_id"]])
    if any(t["channels"] == 2 for t in truths) and any(t["channels"] == 1 for t in truths):
        pipeline.process(files[next(t for t in truths if t["channels"] == 1)["call_id"]])

    results = []
    print(f"{'call':28} {'ch':>2} {'dur s':>6} {'CER':>6} {'role ok':>8} {'spk err':>8} {'DER':>6} {'spk':>3} "
          f"{'pipe s':>7} {'fw s':>6} {'agent p':>7} review")
    for truth in truths:
        r = evaluate(pipeline, files[truth["call_id"]], truth)
        results.append(r)
        role_share = r.words_right_role / max(r.words, 1)
        print(f"{r.call_id:28} {r.channels:>2} {r.duration:6.1f} {r.cer:6.1%} {role_share:8.1%} "
              f"{r.speech_error:8.1%} {r.der:6.1%} {r.speakers:>3} {r.pipeline_s:7.2f} {r.baseline_s:6.2f} "
              f"{r.agent_confidence:7.2f} {','.join(r.review)}", flush=True)
    summary = summarise(results)
    asr = pipeline.transcriber.describe()
    print(f"\nmodel {Path(asr.model).name} on {asr.device} ({asr.compute_type}), {summary['calls']} calls, "
          f"{summary['audio_seconds']} s of audio")
    print(f"CER                                   {summary['cer']:.1%}")
    for kind in ("stereo", "mono"):
        if summary[f"words_right_role_{kind}"] is not None:
            print(f"words with the right role, {kind:6}     {summary[f'words_right_role_{kind}']:.1%}")
            print(f"speech time missed or misattributed, {kind:6} {summary[f'speech_time_error_{kind}']:.1%}")
    print(f"real-time factor, whole pipeline      {summary['rtf_pipeline']:.3f}")
    print(f"real-time factor, plain faster-whisper {summary['rtf_faster_whisper']:.3f}")
    print(f"pipeline overhead                     {summary['overhead']:+.1%}")
    print(f"pipeline time outside ASR             {summary['non_asr_share']:.1%} "
          "(decoding, diarization, alignment, roles)")
    print(f"real-time factor, diarization stage   {summary['rtf_diarize']:.3f}")
    if summary["role_accuracy_mono_mean"] is not None:
        print(f"mono role accuracy (speech time)      mean {summary['role_accuracy_mono_mean']:.1%}, "
              f"lowest {summary['role_accuracy_mono_min']:.1%}")
        print(f"mono DER (pyannote.metrics)           {summary['der_mono']:.1%}")
        print(f"mono calls reduced to one speaker     {summary['mono_one_speaker']}")
        low = summary["confident_accuracy_min"]
        print(f"role confidence >= 0.9                {summary['confident_calls']} calls, lowest accuracy "
              f"{'-' if low is None else f'{low:.1%}'}; {summary['unsure_calls']} calls below")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "calls": [asdict(r) for r in results]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
