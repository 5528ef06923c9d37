#!/usr/bin/env python3
"""Anchor for the compression benchmarks: the Python reference bindings calling the same C
libraries (zlib, liblz4, libsnappy, libzstd) on the same payload the Swift benchmark exported.

Usage: python_codecs.py PAYLOAD OUT.json
Writes {"results": [{"name": ..., "opsPerSecond": ...}, ...]} in the shape bench_report.py reads.
"""
import gzip
import json
import sys
import time
import zlib


def measure(fn, min_seconds=1.0):
    fn()  # warm-up
    iterations = 0
    start = time.perf_counter()
    while True:
        fn()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and iterations >= 5:
            return iterations / elapsed


def main():
    payload_path, out_path = sys.argv[1], sys.argv[2]
    with open(payload_path, "rb") as f:
        data = f.read()
    import lz4.block
    import lz4.frame
    import snappy
    import zstandard
    from kafka.codec import snappy_decode, snappy_encode

    zc = zstandard.ZstdCompressor(level=3)
    zd = zstandard.ZstdDecompressor()
    codecs = {
        "gzip": (lambda d: gzip.compress(d, compresslevel=6), gzip.decompress),
        "deflate": (zlib.compress, zlib.decompress),
        "lz4-frame": (lambda d: lz4.frame.compress(d, block_size=lz4.frame.BLOCKSIZE_MAX64KB, block_linked=False),
                      lz4.frame.decompress),
        "lz4-block": (lambda d: lz4.block.compress(d, store_size=False),
                      lambda c: lz4.block.decompress(c, uncompressed_size=len(data))),
        "snappy": (snappy.compress, snappy.uncompress),
        "snappy-xerial": (lambda d: snappy_encode(d, xerial_compatible=True), snappy_decode),
        "zstd": (zc.compress, zd.decompress),
    }
    results = []
    for name, (compress, decompress) in codecs.items():
        compressed = compress(data)
        assert decompress(compressed) == data, name
        results.append({"name": f"python {name} compress", "opsPerSecond": measure(lambda: compress(data))})
        results.append({"name": f"python {name} decompress", "opsPerSecond": measure(lambda: decompress(compressed))})
        results.append({"name": f"python {name} ratio", "value": len(data) / len(compressed)})
    with open(out_path, "w") as f:
        json.dump({"source": "python reference bindings", "payloadBytes": len(data), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
