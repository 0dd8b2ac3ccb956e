"""safetensors written byte for byte the same on every run (the library's writer orders the
metadata by hash): header keys sorted, data in name order, header padded to 8 bytes. Shared by
the scripts that write tests/golden/."""

import json
import struct

import numpy as np

DTYPES = {"<f4": "F32", "<f8": "F64"}


def save_file(tensors, path, metadata, dtype=None):
    """Writes `tensors` (name → array; cast to `dtype`, e.g. "<f4", when given) to `path`."""
    header, offset, blobs = {"__metadata__": dict(sorted(metadata.items()))}, 0, []
    for name in sorted(tensors):
        x = np.ascontiguousarray(tensors[name], dtype=dtype)
        header[name] = {"dtype": DTYPES[x.dtype.str], "shape": list(x.shape), "data_offsets": [offset, offset + x.nbytes]}
        blobs.append(x.tobytes())
        offset += x.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
