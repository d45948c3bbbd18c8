"""Write a small ONNX model without the `onnx` package (not a dependency): hand-encoded protobuf.

The graph: pixels [N, 3, H, W] → Conv(weight, bias) → Relu → GlobalAveragePool ("pooled_4d",
[N, C, 1, 1]) → Flatten ("pooled", [N, C]). Field numbers follow onnx.proto (IR version 8, opset 13).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode("utf-8"))


FLOAT = 1  # TensorProto.DataType.FLOAT


def _tensor(name: str, array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype="<f4")
    return (
        b"".join(_int(1, d) for d in array.shape)
        + _int(2, FLOAT)
        + _str(8, name)
        + _bytes(9, array.tobytes())
    )


def _value_info(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _str(2, d)) for d in dims)
    tensor_type = _int(1, FLOAT) + _bytes(2, shape)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    return (
        b"".join(_str(1, i) for i in inputs)
        + b"".join(_str(2, o) for o in outputs)
        + _str(3, name)
        + _str(4, op)
    )


def write_conv_pool_model(path: Path, weight: np.ndarray, bias: np.ndarray) -> Path:
    channels = int(weight.shape[0])
    graph = b"".join(
        [
            _bytes(1, _node("Conv", ["pixels", "W", "B"], ["conv"], "conv")),
            _bytes(1, _node("Relu", ["conv"], ["relu"], "relu")),
            _bytes(1, _node("GlobalAveragePool", ["relu"], ["pooled_4d"], "pool")),
            _bytes(1, _node("Flatten", ["pooled_4d"], ["pooled"], "flatten")),
            _str(2, "conv_pool"),
            _bytes(5, _tensor("W", weight)),
            _bytes(5, _tensor("B", bias)),
            _bytes(11, _value_info("pixels", ["batch", 3, "height", "width"])),
            _bytes(12, _value_info("pooled", ["batch", channels])),
            _bytes(12, _value_info("pooled_4d", ["batch", channels, 1, 1])),
        ]
    )
    model = _int(1, 8) + _str(2, "visframe-tests") + _bytes(7, graph) + _bytes(8, _str(1, "") + _int(2, 13))
    path = Path(path)
    path.write_bytes(model)
    return path
