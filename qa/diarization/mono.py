"""Who spoke when in a mono call: pyannote-style diarization on onnxruntime, numpy and scikit-learn.

Mono recordings mix agent and customer on one channel, so speakers must be told apart by voice.
The pipeline follows pyannote's speaker-diarization-3 recipe with models that run without torch:

1. segmentation-3.0 on overlapping 10 s windows: per frame (16.875 ms), which of up to three
   *local* speakers talk (powerset classes, at most two at once);
2. one CAM++ embedding per (window, local speaker), from the frames where that speaker talks alone;
3. agglomerative clustering (cosine, average linkage) of the reliable embeddings into global
   speakers; every local speaker then joins the nearest cluster, two local speakers of one
   window never the same one;
4. per-frame aggregation over the windows back to a timeline, then segments.

Telephone calls have two speakers, so that is the default count; the audio overrides it only
when it shows clearly otherwise (thresholds below, measured on CAM++ embeddings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import AgglomerativeClustering

from qa.diarization.fbank import FRAME_LENGTH, FRAME_SHIFT, kaldi_fbank, normalise
from qa.types import SpeakerSegment

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
BATCH_WINDOWS = 16

# Powerset class -> active local speakers, in pyannote's order: {}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2}.
POWERSET = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool
)

MIN_LOCAL_S = 0.2  # a local speaker active for less is a segmentation blip and is dropped
MIN_CLEAN_S = 0.5  # solo speech needed to embed from solo frames only (else all active frames)
MIN_RELIABLE_S = 1.0  # solo speech needed for an embedding to shape the clusters
MAX_EMBED_S = 3.0  # CAM++ input cap: longer adds little and costs linearly
MIN_CLUSTER_S = 3.0  # a cluster with less solo speech is an outlier group, not a speaker
# Cosine distances between cluster centroids (see the module docstring and the tests):
SAME_SPEAKER_DISTANCE = 0.22  # two clusters this close are one voice split in two
NEW_SPEAKER_DISTANCE = 0.5  # an extra cluster this far from all others is another voice

# A local speaker may hold two voices where the segmentation model confused them (typically a
# short reply inside the other's window): its runs of speech are checked one by one.
RUN_GAP_S = 0.2  # pauses that split a local speaker's activity into runs
MIN_RUN_S = 0.8  # shorter runs follow their local speaker
RUN_MARGIN = 0.1  # cosine-similarity lead a run needs to move to another cluster

MIN_GAP_S = 0.3  # shorter pauses inside one speaker's speech are bridged
MIN_SEGMENT_S = 0.1  # shorter segments are dropped


@dataclass(frozen=True, slots=True)
class _Models:
    segmentation: ort.InferenceSession
    embedding: ort.InferenceSession


@dataclass(slots=True)
class _Local:
    """One local speaker of one window, with its embedding."""

    window: int
    index: int
    embedding: np.ndarray
    clean_s: float


def _threads() -> int:
    """All cores up to four: both models are small and scale poorly beyond that."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


@lru_cache(maxsize=4)
def _models(models_dir: Path) -> _Models:
    """Sessions are costly to create (graph optimisation), so one pair per models_dir."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL

    def session(name: str) -> ort.InferenceSession:
        path = models_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `qa models install`")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    return _Models(session(SEGMENTATION_FILE), session(EMBEDDING_FILE))


def diarize_mono(audio: np.ndarray, models_dir: Path, num_speakers: int | None = None,
                 min_speakers: int = 1, max_speakers: int = 4,
                 expected_speakers: int = 2) -> list[SpeakerSegment]:
    """Speaker segments ("S0", "S1", ... by first appearance) of 16 kHz float32 mono `audio`.

    `num_speakers` forces the count; otherwise it is `expected_speakers` unless the voices
    clearly say otherwise, within [min_speakers, max_speakers]. Segments may overlap.
    """
    if num_speakers is not None and num_speakers < 1:
        raise ValueError("num_speakers must be at least 1")
    if not 1 <= min_speakers <= max_speakers:
        raise ValueError("need 1 <= min_speakers <= max_speakers")
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if len(audio) < FRAME_LENGTH:
        return []
    models = _models(Path(models_dir).resolve())
    activity = _segment(models.segmentation, audio)
    locals_ = _embed(models.embedding, audio, activity)
    if not locals_:
        return []
    wanted = num_speakers or int(np.clip(expected_speakers, min_speakers, max_speakers))
    centroids = _cluster(locals_, wanted, None if num_speakers else (min_speakers, max_speakers))
    assignment = _assign(locals_, centroids)
    timeline = _aggregate(activity, assignment, len(centroids))
    return _segments(timeline, len(audio) / SAMPLE_RATE)


def _segment(session: ort.InferenceSession, audio: np.ndarray) -> np.ndarray:
    """(windows, 589, 3) bool activity of local speakers; window w starts at frame w * step."""
    step = WINDOW_STEP_FRAMES * FRAME_STEP
    count = 1 + max(0, -(-(len(audio) - WINDOW_SAMPLES) // step))
    padded = np.zeros((count - 1) * step + WINDOW_SAMPLES, dtype=np.float32)
    padded[: len(audio)] = audio
    windows = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_SAMPLES)[::step]
    classes = []
    for first in range(0, count, BATCH_WINDOWS):
        batch = np.ascontiguousarray(windows[first:first + BATCH_WINDOWS])[:, None, :]
        classes.append(session.run(None, {"waveform": batch})[0].argmax(axis=-1))
    activity = POWERSET[np.concatenate(classes)]
    too_short = activity.sum(axis=1) * FRAME_S < MIN_LOCAL_S
    activity[np.broadcast_to(too_short[:, None, :], activity.shape)] = False
    return activity


def _embed(session: ort.InferenceSession, audio: np.ndarray, activity: np.ndarray) -> list[_Local]:
    """CAM++ embedding of every active local speaker, from its solo frames when it has enough."""
    features = kaldi_fbank(audio)
    centres = FRAME_SHIFT * np.arange(len(features)) + FRAME_LENGTH / 2
    # Segmentation frame (on the global grid) nearest to each fbank frame's centre.
    to_grid = np.rint((centres - FRAME_CENTRE) / FRAME_STEP).astype(np.int64).clip(min=0)
    max_frames = int(MAX_EMBED_S * SAMPLE_RATE / FRAME_SHIFT)
    locals_ = []
    for w, window in enumerate(activity):
        offset = w * WINDOW_STEP_FRAMES
        in_window = (to_grid >= offset) & (to_grid < offset + FRAMES_PER_WINDOW)
        local_frame = np.where(in_window, to_grid - offset, 0)
        solo_frames = window.sum(axis=1) == 1
        for s in np.flatnonzero(window.any(axis=0)):
            solo = window[:, s] & solo_frames
            clean_s = float(solo.sum() * FRAME_S)
            mask = solo if clean_s >= MIN_CLEAN_S else window[:, s]
            chosen = features[in_window & mask[local_frame]]
            if len(chosen) > max_frames:
                middle = (len(chosen) - max_frames) // 2
                chosen = chosen[middle:middle + max_frames]
            if len(chosen) < 20:  # CAM++ downsamples time by 8; too little left to pool
                continue
            vector = session.run(None, {"features": normalise(chosen)[None]})[0][0]
            locals_.append(_Local(w, int(s), vector / (np.linalg.norm(vector) + 1e-12), clean_s))
    return locals_


def _cluster(locals_: list[_Local], wanted: int, bounds: tuple[int, int] | None) -> np.ndarray:
    """(k, 192) unit centroids of the global speakers.

    With `bounds`, `wanted` is only the default: it drops while the two closest clusters are
    one voice, and grows while one more cluster is a clearly different voice.
    """
    reliable = [x for x in locals_ if x.clean_s >= MIN_RELIABLE_S] or locals_
    vectors = np.stack([x.embedding for x in reliable])
    weights = np.array([max(x.clean_s, FRAME_S) for x in reliable])
    merges = np.zeros((0, 2), dtype=np.int64)
    if len(reliable) > 1:
        merges = AgglomerativeClustering(
            n_clusters=None, distance_threshold=0.0, metric="cosine", linkage="average"
        ).fit(vectors).children_
    centroids = _centroids(vectors, weights, merges, min(wanted, len(reliable)))
    if bounds is None:
        return centroids
    low, high = bounds
    while len(centroids) > low and _closest_pair(centroids) < SAME_SPEAKER_DISTANCE:
        centroids = _centroids(vectors, weights, merges, len(centroids) - 1)
    while len(centroids) < min(high, len(reliable)):
        more = _centroids(vectors, weights, merges, len(centroids) + 1)
        if _closest_pair(more) < NEW_SPEAKER_DISTANCE:
            break
        centroids = more
    return centroids


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
        labels, heaviest = fallback
    return np.stack([
        _unit(np.average(vectors[labels == c], axis=0, weights=weights[labels == c]))
        for c in heaviest
    ])


def _cut(merges: np.ndarray, n: int, m: int) -> np.ndarray:
    """Cluster labels of n leaves after the first n - m merges of a scikit-learn tree."""
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


def _aggregate(activity: np.ndarray, assignment: dict[tuple[int, int], int], k: int) -> np.ndarray:
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
        for s in range(window.shape[1]):
            if (w, s) in assignment:
                c = assignment[(w, s)]
                clusters[:, c] = np.maximum(clusters[:, c], window[:, s])
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
