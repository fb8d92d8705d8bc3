"""Read PyTorch checkpoints (.pt/.bin zip format) into numpy arrays, without torch.

The installer rebuilds ONNX models from weights shipped as PyTorch checkpoints, and the product
must not depend on torch. A checkpoint is a zip holding `data.pkl` plus one raw file per tensor
storage. Unpickling is restricted: only the few globals needed to rebuild tensors are honoured;
every other class (Lightning hyper-parameters, pyannote task specifications, ...) becomes an inert
placeholder, so loading a checkpoint never imports or runs foreign code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import numpy as np

from qa.errors import QAError

_STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class CheckpointError(QAError, ValueError):
    """The file is not a PyTorch zip checkpoint this reader understands."""

    code = "checkpoint"


class _StorageType:
    """Stands for `torch.FloatStorage` and friends: only its element type matters."""

    def __init__(self, name: str) -> None:
        if name not in _STORAGE_DTYPES:
            raise CheckpointError(f"unsupported tensor storage type torch.{name}")
        self.dtype = _STORAGE_DTYPES[name]


class _Inert:
    """Placeholder for any class the checkpoint names that is not needed for tensors."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...],
                    stride: tuple[int, ...], *_: Any) -> np.ndarray:
    """`torch._utils._rebuild_tensor_v2`: a strided view of a storage, copied to C order."""
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if all(size) and last >= len(storage):
        raise CheckpointError("tensor reaches past the end of its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride],
        writeable=False,
    )
    return np.ascontiguousarray(view)


def _rebuild_parameter(data: np.ndarray, *_: Any) -> np.ndarray:
    """`torch._utils._rebuild_parameter`: a Parameter is just its data here."""
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        return type(name, (_Inert,), {"__module__": f"inert.{module}"})

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"storage {key} has no known element type")
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            nbytes = numel * storage_type.dtype.itemsize
            if len(raw) < nbytes:
                raise CheckpointError(f"storage {key} is truncated")
            self._storages[key] = np.frombuffer(raw[:nbytes], dtype=storage_type.dtype)
        return self._storages[key]


def load_checkpoint(source: bytes | str | Path | IO[bytes]) -> Any:
    """Unpickle a PyTorch zip checkpoint; tensors come back as numpy arrays."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise CheckpointError("not a PyTorch zip checkpoint (legacy pickle files are not supported)") from exc
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError("zip has no single <name>/data.pkl record")
        prefix = pickles[0][: -len("data.pkl")]
        order = f"{prefix}byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise CheckpointError("big-endian checkpoints are not supported")
        return _Unpickler(archive.read(pickles[0]), archive, prefix).load()


def load_state_dict(source: bytes | str | Path | IO[bytes]) -> dict[str, np.ndarray]:
    """Flat `{parameter name: array}` of a checkpoint; a Lightning checkpoint's `state_dict` is used."""
    obj = load_checkpoint(source)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint holds a {type(obj).__name__}, not a state dict")
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, np.ndarray)}
    if not state:
        raise CheckpointError("checkpoint holds no tensors")
    return state
