"""A pickle reader for official NVIDIA network pickles that never executes anything from the file.

An NVIDIA snapshot stores each network as `_reconstruct_persistent_obj(meta)` with the module's
*source code* inside `meta`; the official loader executes that source. We map the handful of names
these files use to inert stand-ins, refuse every other global, and parse the nested legacy
`torch.save` payload of each tensor ourselves (byte for byte, no second unpickling of code).
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import torch

from ..errors import CheckpointError

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


@dataclass
class PersistentObject:
    """Inert stand-in for a `torch_utils.persistence` object: its class name and pickled `__dict__`."""

    class_name: str
    state: dict[str, Any] = field(repr=False)
    module_src_len: int = 0  # the embedded source is kept out of memory and never executed

    def submodules(self) -> dict[str, Any]:
        return dict(self.state.get("_modules") or {})


class EasyDictStandIn(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TFNetworkStandIn:
    """Inert stand-in for TensorFlow-era `dnnlib.tflib.network.Network`: keeps its pickled state only.

    The real class rebuilds a TF graph by executing `build_module_src`; we never look at that source.
    """

    state: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or "variables" not in state:
            raise pickle.UnpicklingError("malformed TensorFlow network state")
        state = dict(state)
        state.pop("build_module_src", None)
        self.state = state

    @property
    def name(self) -> str:
        return str(self.state.get("name", ""))

    @property
    def static_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("static_kwargs") or {})

    @property
    def components(self) -> dict[str, Any]:
        return dict(self.state.get("components") or {})

    def __repr__(self) -> str:
        return f"TFNetworkStandIn(name={self.name!r}, components={sorted(self.components)})"


def _reconstruct_persistent_obj(meta: dict[str, Any]) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or "state" not in meta:
        raise pickle.UnpicklingError("malformed persistent object")
    src = meta.get("module_src") or ""
    return PersistentObject(class_name=str(meta.get("class_name")), state=meta["state"], module_src_len=len(src))


def _storage_from_legacy_bytes(payload: bytes) -> torch.Tensor:
    """Parse one legacy `torch.save(storage)` blob (see reference/PICKLE_FORMAT.md §6) into a flat tensor."""
    stream = io.BytesIO(payload)
    records: list[tuple[torch.dtype, str, int]] = []

    class _PayloadUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module == "torch" and name in _STORAGE_DTYPES:
                return name
            raise pickle.UnpicklingError(f"tensor payload refers to {module}.{name}")

        def persistent_load(self, pid: Any) -> Any:
            if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
                raise pickle.UnpicklingError("unexpected persistent id in tensor payload")
            _, storage_type, key, _location, numel = pid[:5]
            if storage_type not in _STORAGE_DTYPES:
                raise pickle.UnpicklingError(f"unknown storage type {storage_type!r}")
            records.append((_STORAGE_DTYPES[storage_type], str(key), int(numel)))
            return str(key)

    def load_one() -> Any:
        return _PayloadUnpickler(stream).load()

    if load_one() != LEGACY_TORCH_MAGIC:
        raise pickle.UnpicklingError("tensor payload lacks the torch magic number")
    load_one()  # protocol version
    sys_info = load_one()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise pickle.UnpicklingError("big-endian tensor payloads are not supported")
    root_key = load_one()
    keys = load_one()
    if len(records) != 1 or keys != [root_key]:
        raise pickle.UnpicklingError("tensor payload must hold exactly one storage")
    dtype, _, numel = records[0]
    (count,) = struct.unpack("<q", stream.read(8))
    itemsize = torch.empty((), dtype=dtype).element_size()
    data = stream.read(count * itemsize)
    if count != numel or len(data) != count * itemsize:
        raise pickle.UnpicklingError("tensor payload is truncated")
    return torch.frombuffer(bytearray(data), dtype=dtype) if count else torch.empty(0, dtype=dtype)


def _rebuild_tensor_v2(
    storage: torch.Tensor, offset: int, size: tuple, stride: tuple, requires_grad: bool = False, *_: Any
) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError("tensor without storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise pickle.UnpicklingError("invalid tensor geometry")
    if all(size):
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= storage.numel():
            raise pickle.UnpicklingError("tensor reaches past its storage")
    return torch.as_strided(storage, size, stride, offset).clone()


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool = False, *_: Any) -> torch.Tensor:
    return data


def _numpy_scalar(dtype: np.dtype, data: bytes | None = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("object-typed numpy scalars are refused")
    return np.frombuffer(data or b"", dtype=dtype, count=1)[0]


def _numpy_reconstruct(cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("only plain numpy arrays are allowed")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDictStandIn,
    ("dnnlib.tflib.network", "Network"): TFNetworkStandIn,
    ("torch.storage", "_load_from_bytes"): _storage_from_legacy_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a global outside the allow-list (nothing was executed)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the allow-listed names above; everything else raises `RefusedGlobal`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not used by network pickles")


def load_restricted(stream: BinaryIO, *, source: str) -> Any:
    """Unpickle `stream` with the allow-list; every failure becomes a CheckpointError naming `source`."""
    try:
        return RestrictedUnpickler(stream).load()
    except RefusedGlobal as exc:
        raise CheckpointError(
            f"{source}: refused to load: the pickle asks for '{exc.module}.{exc.name}', which StyleGAN "
            "checkpoints never use (possible malicious file; nothing was executed)"
        ) from None
    except (
        EOFError,
        pickle.UnpicklingError,
        struct.error,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        MemoryError,
        RecursionError,
    ) as exc:
        raise CheckpointError(f"{source}: not a readable network pickle (truncated or corrupt?): {exc}") from None
