"""Who spoke when in a mono call: pyannote-style diarization on onnxruntime, numpy and scipy.

Mono recordings mix agent and customer on one channel, so speakers must be told apart by voice.
The pipeline follows pyannote's speaker-diarization-3 recipe with models that run without torch:

1. segmentation-3.0 on 10 s windows every 7.5 s: per frame (16.875 ms), which of up to three
   *local* speakers talk (powerset classes, at most two at once);
2. CAM++ embeddings of each local speaker's runs of speech (solo frames where there are enough);
   the local speaker's embedding is their mean;
3. agglomerative clustering (cosine, average linkage) of the reliable local speakers into global
   speakers; each local speaker joins the nearest cluster (two of one window never the same
   one), then a run that sounds like another cluster moves there: the segmentation model
   sometimes gives a short reply of one party to the other party's local speaker;
4. per-frame aggregation over the windows back to a timeline, then segments.

Telephone calls have two speakers, so that is the default count; the audio overrides it only
when it clearly shows otherwise (thresholds below, measured on CAM++ embeddings).
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort
from scipy.cluster.hierarchy import linkage
from scipy.optimize import linear_sum_assignment

from qa.speech.cpu import usable_cores
from qa.speech.diarization.fbank import FRAME_LENGTH, FRAME_SHIFT, NUM_MEL_BINS, kaldi_fbank, normalise, num_frames
from qa.speech.types import Diarization, SpeakerSegment

SEGMENTATION_FILE = "segmentation-3.0.onnx"
EMBEDDING_FILE = "campplus-cn-en.onnx"

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 160000  # the segmentation model's 10 s training chunks
FRAMES_PER_WINDOW = 589
FRAME_STEP = 270  # samples between segmentation frames (SincNet stride 10 x three 3-pools)
FRAME_CENTRE = 495.5  # centre of frame 0's 991-sample receptive field
FRAME_S = FRAME_STEP / SAMPLE_RATE
# Windows overlap by a quarter: enough to cover each window's less reliable edges, while the
# number of embeddings, the dominant cost, stays low (half overlap: same accuracy on the samples,
# 40 % more time; none: several points worse).
WINDOW_STEP_FRAMES = 444  # 7.49 s; a whole number of frames keeps windows on one frame grid
BATCH_WINDOWS = 4  # segmentation windows per model call: 16 held about 0.5 GB of activations per call (same output)
LEVEL_BLOCK_FRAMES = 4000  # frames (67 s) whose levels are computed at a time: about 17 MB
EMBED_BATCH = 256  # embeddings whose features are held at a time: at most about 25 MB

# Powerset class -> active local speakers, in pyannote's order: {}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2}.
POWERSET = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool
)

MIN_LOCAL_S = 0.2  # a local speaker active for less is a segmentation blip and is dropped
MIN_CLEAN_S = 0.5  # solo speech needed to embed from solo frames only (else all active frames)
MIN_RELIABLE_S = 1.0  # solo speech needed for an embedding to shape the clusters
MAX_EMBED_S = 3.0  # CAM++ input cap: 2 s blurs one voice against two, longer costs linearly
MIN_EMBED_FRAMES = 20  # fbank frames; CAM++ downsamples time by 8 and needs a few left to pool
MIN_CLUSTER_S = 3.0  # a cluster with less solo speech is an outlier group, not a speaker
# Speaker count. Cosine distances between cluster centroids (clustered run by run), measured:
# two voices of one synthesiser 2-8 semitones apart (the samples and the evaluation set's tuning
# half) 0.25-0.73, one such voice split in two 0.05-0.22; pyannote's real two-speaker sample
# 0.51-0.56 (telephone band / wide band), one real speaker split in two 0.27-0.31. Two voices
# can sound closer than one voice split in two, so the count drops below the expected one only
# where both signs say one voice.
SAME_SPEAKER_DISTANCE = 0.2  # two clusters closer than this may be one voice split in two
TWO_VOICE_SHARE = 0.05  # less than this share of solo speech to a window's second speaker
# (one-voice recordings: 0-0.12, two-voice calls: 0-0.38)
NEW_SPEAKER_DISTANCE = 0.4  # one more cluster is kept if all clusters are then this far apart
# How sure a split is (Diarization.certainty), measured on the evaluation set's tuning half
# (samples/mono_eval): voices closer than APART_VOICES sometimes share a party's speech.
CLOSE_VOICES = 0.2
APART_VOICES = 0.3
MIN_SPLIT_CERTAINTY = 0.5
SURE_SPLIT = 0.9  # below this the split is marked for review ("close_voices")
ONE_VOICE_CERTAINTY = 0.3  # one voice heard: who said what is unknown
FORCED_SPLIT_CERTAINTY = 0.5  # one voice heard, two parties in the words: split by force

# A local speaker may hold two voices where the segmentation model confused them (typically a
# short reply inside the other's window): its runs of speech are checked one by one.
RUN_GAP_S = 0.2  # pauses that split a local speaker's activity into runs
MIN_RUN_S = 0.8  # shorter runs follow their local speaker
RUN_MARGIN = 0.03  # cosine-similarity lead a run needs to move (0.1 missed short replies)

PAUSE_S = 0.25  # a run is cut at a pause this long ...
PAUSE_DB = 8.0  # ... this far below the speech on either side (its upper quartile level)

MIN_GAP_S = 0.3  # shorter pauses inside one speaker's speech are bridged
MIN_SEGMENT_S = 0.1  # shorter segments are dropped


class MonoSource(Protocol):
    """What diarization reads: a call's length in 16 kHz samples and stretches of it mixed down
    to mono (qa.speech.audio.DecodedAudio is one), so that a long call is read a window at a time."""

    @property
    def length(self) -> int: ...

    def mono(self, start: int = 0, end: int | None = None) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class _InMemory:
    """A whole recording already in memory, as a MonoSource."""

    samples: np.ndarray

    @property
    def length(self) -> int:
        return len(self.samples)

    def mono(self, start: int = 0, end: int | None = None) -> np.ndarray:
        return self.samples[start:end]


@dataclass(frozen=True, slots=True)
class _Models:
    segmentation: ort.InferenceSession
    embedding: ort.InferenceSession


@dataclass(slots=True)
class _Local:
    """One local speaker of one window: its embedding, and one per run of speech (with the
    seconds it was embedded from and the run's seconds heard alone)."""

    window: int
    index: int
    embedding: np.ndarray
    clean_s: float
    runs: list[tuple[slice, np.ndarray, float, float]]


def _workers() -> int:
    """Parallel model calls: one per core, up to four.

    Many small single-threaded runs side by side use two cores better than onnxruntime's
    intra-op threads on these small models (measured: about 1.7x faster for CAM++).
    """
    return max(1, min(4, usable_cores()))


@lru_cache(maxsize=4)
def _models(models_dir: Path) -> _Models:
    """Sessions are costly to create (graph optimisation), so one pair per models_dir."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL

    def session(name: str) -> ort.InferenceSession:
        path = models_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `qa models install`")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    return _Models(session(SEGMENTATION_FILE), session(EMBEDDING_FILE))


@dataclass(frozen=True)
class ModelOutputs:
    """What the models heard in a call (segmentation activity, local speakers' embeddings): all
    the costly work, done before the words are known, so it can run beside recognition."""

    activity: np.ndarray
    locals_: list[_Local]
    duration: float


def hear_mono(audio: np.ndarray | MonoSource, models_dir: Path) -> ModelOutputs | None:
    """The models' pass over 16 kHz float32 mono `audio` (an array, or a source read window by
    window); None where the audio is too short to hold a frame."""
    source = _InMemory(np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)) if isinstance(
        audio, np.ndarray) else audio
    if source.length < FRAME_LENGTH:
        return None
    models = _models(Path(models_dir).resolve())
    with ThreadPoolExecutor(_workers()) as pool:
        activity = _segment(models.segmentation, source, pool)
        levels = _frame_levels(source, len(activity))
        locals_ = _embed_locals(_Embedder(models.embedding, source, pool), activity, levels)
    return ModelOutputs(activity, locals_, source.length / SAMPLE_RATE)


def _check_counts(num_speakers: int | None, min_speakers: int, max_speakers: int) -> None:
    if num_speakers is not None and num_speakers < 1:
        raise ValueError("num_speakers must be at least 1")
    if not 1 <= min_speakers <= max_speakers:
        raise ValueError("need 1 <= min_speakers <= max_speakers")


def decide_speakers(heard: ModelOutputs | None, num_speakers: int | None = None, min_speakers: int = 1,
                    max_speakers: int = 4, expected_speakers: int = 2, two_parties: bool = False) -> Diarization:
    """Who spoke when, from the models' outputs.

    `num_speakers` forces the count; otherwise it is `expected_speakers` unless the voices
    clearly say otherwise, within [min_speakers, max_speakers]. `two_parties` (the words show
    two parties): one voice heard throughout is split in two all the same, by clustering the
    same model outputs again, with a certainty of at most FORCED_SPLIT_CERTAINTY.
    """
    _check_counts(num_speakers, min_speakers, max_speakers)
    if heard is None:
        return Diarization([])
    wanted = num_speakers or int(np.clip(expected_speakers, min_speakers, max_speakers))
    bounds = None if num_speakers else (min_speakers, max_speakers)
    diarized = diarize_embedded(heard.activity, heard.locals_, heard.duration, wanted, bounds)
    if diarized.doubt == "one_voice" and two_parties:
        split = diarize_embedded(heard.activity, heard.locals_, heard.duration, 2, None)
        diarized = replace(split, certainty=min(split.certainty, FORCED_SPLIT_CERTAINTY),
                           doubt="one_voice_two_parties")
    return diarized


def diarize_mono(audio: np.ndarray | MonoSource, models_dir: Path, num_speakers: int | None = None,
                 min_speakers: int = 1, max_speakers: int = 4,
                 expected_speakers: int = 2, two_parties: bool = False) -> Diarization:
    """Who spoke when in 16 kHz float32 mono `audio`: hear_mono, then decide_speakers (the
    counts checked before the costly pass)."""
    _check_counts(num_speakers, min_speakers, max_speakers)
    return decide_speakers(hear_mono(audio, models_dir), num_speakers, min_speakers, max_speakers,
                           expected_speakers, two_parties)


def diarize_embedded(activity: np.ndarray, locals_: list[_Local], duration: float, wanted: int,
                     bounds: tuple[int, int] | None) -> Diarization:
    """The stages after the models: clustering, assignment, timeline (separate so that a bench
    can tune them on stored model outputs)."""
    if not locals_:
        return Diarization([])
    centroids = _cluster(locals_, wanted, bounds)
    labels = _label_frames(activity, _assign(locals_, centroids))
    _relabel_runs(labels, locals_, centroids)
    timeline = _aggregate(activity, labels, len(centroids))
    segments = _segments(timeline, duration)
    if len(centroids) < wanted:
        return Diarization(segments, None, ONE_VOICE_CERTAINTY, "one_voice")
    separation = _closest_pair(centroids) if len(centroids) > 1 else None
    certainty = split_certainty(separation)
    return Diarization(segments, separation, certainty, "close_voices" if certainty < SURE_SPLIT else None)


def split_certainty(separation: float | None) -> float:
    """How sure a split is that each cluster is one party, from the distance between the voices:
    from CLOSE_VOICES (as close as one voice split in two) to APART_VOICES (always right on the
    evaluation set's tuning half), linearly."""
    if separation is None:
        return 1.0
    return float(np.interp(separation, [CLOSE_VOICES, APART_VOICES], [MIN_SPLIT_CERTAINTY, 1.0]))


def _segment(session: ort.InferenceSession, source: MonoSource, pool: Executor) -> np.ndarray:
    """(windows, 589, 3) bool activity of local speakers; window w starts at frame w * step."""
    step = WINDOW_STEP_FRAMES * FRAME_STEP
    count = 1 + max(0, -(-(source.length - WINDOW_SAMPLES) // step))
    batch = min(BATCH_WINDOWS, -(-count // _workers()))

    def run(first: int) -> np.ndarray:  # windows copied a batch at a time, the last zero-padded
        chunk = np.zeros((min(batch, count - first), 1, WINDOW_SAMPLES), dtype=np.float32)
        for i, row in enumerate(chunk):
            piece = source.mono((first + i) * step, (first + i) * step + WINDOW_SAMPLES)
            row[0, : len(piece)] = piece
        return session.run(None, {"waveform": chunk})[0].argmax(axis=-1)

    activity = POWERSET[np.concatenate(list(pool.map(run, range(0, count, batch))))]
    too_short = activity.sum(axis=1) * FRAME_S < MIN_LOCAL_S
    activity[np.broadcast_to(too_short[:, None, :], activity.shape)] = False
    return activity


class _Embedder:
    """CAM++ embeddings of chosen segmentation frames of one recording.

    Filterbank features are computed a window at a time on the recording's one frame grid (frame
    i starts at sample 160 i), so that a long call's features are never all held; an embedding
    takes the window's fbank frames whose centres fall in the chosen segmentation frames,
    mean-normalised over those frames.
    """

    def __init__(self, session: ort.InferenceSession, source: MonoSource, pool: Executor) -> None:
        self._session = session
        self._pool = pool
        self._source = source
        self._count = num_frames(source.length)
        self._window: tuple[int, np.ndarray, np.ndarray] | None = None  # the last window's features

    def _window_features(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """The fbank frames whose centres fall in `window`, and the window frame each is nearest."""
        if self._window is not None and self._window[0] == window:
            return self._window[1:]
        offset = window * WINDOW_STEP_FRAMES
        # fbank frame i is centred at sample 160 i + 200: a generous range of i, then the exact test
        lo, hi = ((offset + f) * FRAME_STEP + FRAME_CENTRE - FRAME_LENGTH / 2 for f in (-1, FRAMES_PER_WINDOW + 1))
        index = np.arange(max(0, int(lo // FRAME_SHIFT)), min(self._count, int(hi // FRAME_SHIFT) + 2))
        nearest = np.rint((FRAME_SHIFT * index + FRAME_LENGTH / 2 - FRAME_CENTRE) / FRAME_STEP).astype(np.int64)
        nearest = nearest.clip(min=0) - offset
        inside = (nearest >= 0) & (nearest < FRAMES_PER_WINDOW)
        index, nearest = index[inside], nearest[inside]
        features = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        if len(index):
            features = kaldi_fbank(self._source.mono(int(index[0]) * FRAME_SHIFT,
                                                     int(index[-1]) * FRAME_SHIFT + FRAME_LENGTH))
        self._window = (window, features, nearest)
        return features, nearest

    def _frames(self, window: int, mask: np.ndarray) -> np.ndarray:
        features, nearest = self._window_features(window)
        chosen = features[mask[nearest]]
        cap = int(MAX_EMBED_S * SAMPLE_RATE / FRAME_SHIFT)
        if len(chosen) > cap:
            middle = (len(chosen) - cap) // 2
            chosen = chosen[middle:middle + cap]
        return chosen

    def embed(self, requests: list[tuple[int, np.ndarray]]) -> list[np.ndarray | None]:
        """Unit embeddings for (window, frame mask) pairs, in window order; None where too little
        is selected. EMBED_BATCH requests' features are held at a time."""

        def run(features: np.ndarray) -> np.ndarray | None:
            if len(features) < MIN_EMBED_FRAMES:
                return None
            vector = self._session.run(None, {"features": normalise(features)[None]})[0][0]
            return _unit(vector)

        vectors: list[np.ndarray | None] = []
        for first in range(0, len(requests), EMBED_BATCH):
            batch = [self._frames(w, m) for w, m in requests[first:first + EMBED_BATCH]]
            vectors += self._pool.map(run, batch)
        return vectors


def _speech_mask(window: np.ndarray, speaker: int,
                 frames: slice = slice(None)) -> tuple[np.ndarray, float]:
    """Frames to embed one speaker from (solo frames when there are enough) and its solo seconds."""
    within = np.zeros(len(window), dtype=bool)
    within[frames] = window[frames, speaker]
    solo = within & (window.sum(axis=1) == 1)
    clean_s = float(solo.sum() * FRAME_S)
    return (solo if clean_s >= MIN_CLEAN_S else within), clean_s


def _frame_levels(source: MonoSource, windows: int) -> np.ndarray:
    """Level (dB) of each frame of the global grid covering `windows` windows."""
    frames = (windows - 1) * WINDOW_STEP_FRAMES + FRAMES_PER_WINDOW
    power = np.zeros(frames)
    for first in range(0, frames, LEVEL_BLOCK_FRAMES):  # a float64 copy of a long call would not fit
        stop = min(first + LEVEL_BLOCK_FRAMES, frames)
        padded = np.zeros((stop - first) * FRAME_STEP, dtype=np.float64)
        usable = source.mono(first * FRAME_STEP, stop * FRAME_STEP)
        padded[: len(usable)] = usable
        power[first:stop] = np.mean(padded.reshape(stop - first, FRAME_STEP) ** 2, axis=1)
    return 10 * np.log10(power + 1e-10)


def _split_at_pause(run: slice, levels: np.ndarray) -> list[slice]:
    """A long run cut where the line falls silent: the segmentation model sometimes runs one
    local speaker through the pause between the two parties' turns."""
    length = run.stop - run.start
    edge, width = int(MIN_RUN_S / FRAME_S), int(PAUSE_S / FRAME_S)
    if length < 2 * edge + width:
        return [run]
    inner = levels[run][edge: length - edge]
    dips = np.convolve(inner, np.ones(width) / width, mode="valid")
    cuts = run.start + edge + np.arange(len(dips)) + width // 2
    depth = [min(np.percentile(levels[run.start:c], 75), np.percentile(levels[c:run.stop], 75)) - d
             for c, d in zip(cuts, dips)]
    at = int(np.argmax(depth))
    if depth[at] < PAUSE_DB:
        return [run]
    cut = int(cuts[at])
    return _split_at_pause(slice(run.start, cut), levels) + _split_at_pause(slice(cut, run.stop), levels)


def _embed_locals(embedder: _Embedder, activity: np.ndarray, levels: np.ndarray) -> list[_Local]:
    """Embed every active local speaker of every window, run by run.

    Runs are cut at clear pauses (`levels`: the global frames' levels). Each run of at least
    MIN_RUN_S is embedded on its own (so that it can be clustered, and later move to another
    cluster, on its own); the local speaker's embedding is their mean, weighted by length. A
    local speaker without such runs gets one embedding from all its speech.
    """
    parts, requests = [], []
    for w, window in enumerate(activity):
        heard = levels[w * WINDOW_STEP_FRAMES: w * WINDOW_STEP_FRAMES + FRAMES_PER_WINDOW]
        for s in np.flatnonzero(window.any(axis=0)).tolist():
            runs = [piece for r in _runs(window[:, s]) for piece in _split_at_pause(r, heard)
                    if (piece.stop - piece.start) * FRAME_S >= MIN_RUN_S]
            for run in runs or [slice(None)]:
                mask, solo_s = _speech_mask(window, s, run)
                parts.append((w, s, run, min(float(mask.sum() * FRAME_S), MAX_EMBED_S), solo_s))
                requests.append((w, mask))
    grouped: dict[tuple[int, int], list[tuple[slice, np.ndarray, float, float]]] = {}
    for (w, s, run, seconds, solo_s), vector in zip(parts, embedder.embed(requests)):
        if vector is not None:
            grouped.setdefault((w, s), []).append((run, vector, seconds, solo_s))
    locals_ = []
    for (w, s), pieces in grouped.items():
        mean = sum((seconds * vector for _, vector, seconds, _ in pieces), np.zeros_like(pieces[0][1]))
        clean_s = _speech_mask(activity[w], s)[1]
        locals_.append(_Local(w, s, _unit(mean), clean_s, pieces))
    return locals_


def _run_items(locals_: list[_Local]) -> list[_Local]:
    """What the clusters are built from: each embedded run of a local speaker on its own (one
    local speaker may hold both voices where the segmentation model could not tell them apart),
    a local speaker with a single embedding as itself."""
    items = []
    for x in locals_:
        if len(x.runs) < 2:
            items.append(x)
            continue
        items += [_Local(x.window, x.index, vector, seconds, []) for _, vector, seconds, _ in x.runs]
    return items


def _cluster(locals_: list[_Local], wanted: int, bounds: tuple[int, int] | None) -> np.ndarray:
    """(k, 192) unit centroids of the global speakers.

    With `bounds`, `wanted` is only the default. It grows while one more cluster leaves all
    clusters clearly different voices; clusters closer than one voice split in two merge, but
    below `wanted` only where the segmentation model also never heard a second voice.
    """
    items = _run_items(locals_)
    reliable = [x for x in items if x.clean_s >= MIN_RELIABLE_S]
    if len(reliable) < wanted:
        reliable = items
    vectors = np.stack([x.embedding for x in reliable])
    weights = np.array([max(x.clean_s, FRAME_S) for x in reliable])
    merges = np.zeros((0, 2), dtype=np.int64)
    if len(reliable) > 1:
        # scipy's linkage is what scikit-learn's AgglomerativeClustering runs here, without the
        # 1.5 s that importing scikit-learn costs a one-call `qa transcribe`.
        merges = linkage(vectors, method="average", metric="cosine")[:, :2].astype(np.int64)
    centroids = _centroids(vectors, weights, merges, min(wanted, len(reliable)))
    if bounds is None:
        return centroids
    low, high = bounds
    alone = _second_voice_share([x for x in locals_ if x.clean_s >= MIN_RELIABLE_S]) < TWO_VOICE_SHARE
    while len(centroids) > low and _closest_pair(centroids) < SAME_SPEAKER_DISTANCE:
        if len(centroids) <= wanted and not alone:
            break  # fewer voices than the call should have takes both signs of one voice
        centroids = _centroids(vectors, weights, merges, len(centroids) - 1)
    while len(centroids) < min(high, len(reliable)):
        more = _centroids(vectors, weights, merges, len(centroids) + 1)
        if _closest_pair(more) < NEW_SPEAKER_DISTANCE:
            break
        centroids = more
    return centroids


def _second_voice_share(reliable: list[_Local]) -> float:
    """Share of solo speech that the segmentation model gave to a window's second, third
    local speaker: near zero when it never heard two voices in one window."""
    per_window: dict[int, list[float]] = {}
    for x in reliable:
        per_window.setdefault(x.window, []).append(x.clean_s)
    total = sum(sum(v) for v in per_window.values())
    others = sum(sum(v) - max(v) for v in per_window.values())
    return others / total if total else 0.0


def _centroids(vectors: np.ndarray, weights: np.ndarray, merges: np.ndarray, k: int) -> np.ndarray:
    """Centroids of k clusters of the tree. The tree is cut finer until k clusters carry at
    least MIN_CLUSTER_S of solo speech each; the lighter ones are outliers (embeddings spoilt
    by overlap or noise) and are left out, so that they cannot take a speaker's place."""
    if k <= 1:
        return _unit(np.average(vectors, axis=0, weights=weights))[None]
    fallback = None
    for m in range(k, len(vectors) + 1):
        labels = _cut(merges, len(vectors), m)
        mass = np.bincount(labels, weights=weights)
        heaviest = np.argsort(-mass, kind="stable")[:k]
        if fallback is None:
            fallback = labels, heaviest
        if mass[heaviest[-1]] >= MIN_CLUSTER_S:
            break
    else:
        assert fallback is not None  # set by the first pass of the loop
        labels, heaviest = fallback
    return np.stack([
        _unit(np.average(vectors[labels == c], axis=0, weights=weights[labels == c]))
        for c in heaviest
    ])


def _cut(merges: np.ndarray, n: int, m: int) -> np.ndarray:
    """Cluster labels of n leaves after the first n - m merges of a linkage tree (scipy, as scikit-learn builds it)."""
    parent = np.arange(2 * n - 1)
    for i, (a, b) in enumerate(merges[: n - m]):
        parent[a] = parent[b] = n + i
    roots = np.arange(n)
    while not np.array_equal(parent[roots], roots):
        roots = parent[roots]
    return np.unique(roots, return_inverse=True)[1]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) + 1e-12)


def _closest_pair(centroids: np.ndarray) -> float:
    """Smallest cosine distance between two centroids."""
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -1.0)
    return float(1.0 - similarity.max())


def _assign(locals_: list[_Local], centroids: np.ndarray) -> dict[tuple[int, int], int]:
    """(window, local speaker) -> cluster; local speakers of one window get distinct clusters
    while there are enough clusters (they are different people by construction)."""
    by_window: dict[int, list[_Local]] = {}
    for x in locals_:
        by_window.setdefault(x.window, []).append(x)
    assignment = {}
    for w, members in by_window.items():
        similarity = np.stack([x.embedding for x in members]) @ centroids.T
        rows, cols = linear_sum_assignment(similarity, maximize=True)
        chosen = dict(zip(rows.tolist(), cols.tolist()))
        for i, member in enumerate(members):
            assignment[(w, member.index)] = chosen.get(i, int(similarity[i].argmax()))
    return assignment


def _label_frames(activity: np.ndarray, assignment: dict[tuple[int, int], int]) -> np.ndarray:
    """(windows, 3, 589) cluster of each local speaker's active frames, -1 elsewhere."""
    labels = np.full(activity.transpose(0, 2, 1).shape, -1, dtype=np.int64)
    for (w, s), cluster in assignment.items():
        labels[w, s, activity[w, :, s]] = cluster
    return labels


def _runs(active: np.ndarray) -> list[slice]:
    """Stretches of activity, pauses under RUN_GAP_S bridged."""
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    runs: list[list[int]] = []
    for start, end in zip(starts, ends):
        if runs and (start - runs[-1][1]) * FRAME_S < RUN_GAP_S:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return [slice(a, b) for a, b in runs]


def _relabel_runs(labels: np.ndarray, locals_: list[_Local], centroids: np.ndarray) -> None:
    """Move a run of a local speaker that clearly sounds like another cluster to that cluster."""
    if len(centroids) < 2:
        return
    for local in locals_:
        if len(local.runs) < 2:  # a single run is what the local speaker's embedding heard
            continue
        for run, vector, _, solo_s in local.runs:
            if solo_s < MIN_CLEAN_S:  # heard mostly under the other voice: its embedding is of both
                continue
            span = labels[local.window, local.index, run]
            current = span.max()
            similarity = centroids @ vector
            best = int(similarity.argmax())
            if current >= 0 and best != current and similarity[best] - similarity[current] >= RUN_MARGIN:
                span[span >= 0] = best


def _aggregate(activity: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(frames, k) bool timeline: per frame, the top-n clusters, n = the windows' speaker count.

    Overlapping windows are averaged with a Hamming weight, which trusts window centres more
    than their edges, as pyannote does.
    """
    frames = (len(activity) - 1) * WINDOW_STEP_FRAMES + FRAMES_PER_WINDOW
    weight = np.hamming(FRAMES_PER_WINDOW)[:, None]
    score = np.zeros((frames, k))
    speakers = np.zeros((frames, 1))
    total = np.zeros((frames, 1))
    for w, window in enumerate(activity):
        span = slice(w * WINDOW_STEP_FRAMES, w * WINDOW_STEP_FRAMES + FRAMES_PER_WINDOW)
        clusters = np.zeros((FRAMES_PER_WINDOW, k))
        for local in labels[w]:
            active = local >= 0
            clusters[np.flatnonzero(active), local[active]] = 1.0
        score[span] += weight * clusters
        speakers[span] += weight * window.sum(axis=1, keepdims=True)
        total[span] += weight
    total = np.maximum(total, 1e-9)
    score /= total
    count = np.rint(speakers / total).astype(int)[:, 0]
    rank = np.argsort(np.argsort(-score, axis=1), axis=1)
    return (rank < count[:, None]) & (score > 0)


def _segments(timeline: np.ndarray, duration: float) -> list[SpeakerSegment]:
    """Frame timeline -> segments; gaps under MIN_GAP_S bridged, bits under MIN_SEGMENT_S dropped."""
    half = FRAME_STEP / 2
    per_cluster = []
    for column in timeline.T:
        edges = np.diff(np.concatenate([[0], column.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        spans: list[list[float]] = []
        for first, last in zip(starts, ends):
            start = max(0.0, (first * FRAME_STEP + FRAME_CENTRE - half) / SAMPLE_RATE)
            end = min(duration, (last * FRAME_STEP + FRAME_CENTRE + half) / SAMPLE_RATE)
            if start >= end:
                continue
            if spans and start - spans[-1][1] < MIN_GAP_S:
                spans[-1][1] = end
            else:
                spans.append([start, end])
        per_cluster.append([(s, e) for s, e in spans if e - s >= MIN_SEGMENT_S])
    order = sorted((spans[0][0], c) for c, spans in enumerate(per_cluster) if spans)
    segments = [
        SpeakerSegment(f"S{rank}", round(s, 3), round(e, 3))
        for rank, (_, c) in enumerate(order) for s, e in per_cluster[c]
    ]
    return sorted(segments, key=lambda seg: (seg.start, seg.speaker))
