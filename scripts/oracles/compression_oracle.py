#!/usr/bin/env python3
"""Compression oracle for Wirestack's interop tests.

Compresses and decompresses files with the Python reference bindings of the same C libraries
(zlib/gzip from the standard library, lz4, python-snappy, zstandard) and kafka-python's xerial
snappy framing, so the Swift codecs can be checked against independent encoders and decoders.

Usage:
    compression_oracle.py batch MANIFEST.json
        MANIFEST is a JSON list of {"op": "compress"|"decompress", "codec": NAME,
        "in": PATH, "out": PATH, "size": N (lz4-block decompress only)}.
    compression_oracle.py versions
Codecs: gzip, deflate (zlib container), lz4-frame, lz4-block (raw, no size prefix),
snappy (raw), snappy-xerial (Kafka framing), zstd.
"""
import gzip
import json
import sys
import zlib


def _lz4_frame():
    import lz4.frame
    return lz4.frame


def _lz4_block():
    import lz4.block
    return lz4.block


def compress(codec, data):
    if codec == "gzip":
        return gzip.compress(data)
    if codec == "deflate":
        return zlib.compress(data)
    if codec == "lz4-frame":
        return _lz4_frame().compress(data)
    if codec == "lz4-block":
        return _lz4_block().compress(data, store_size=False)
    if codec == "snappy":
        import snappy
        return snappy.compress(data)
    if codec == "snappy-xerial":
        from kafka.codec import snappy_encode
        return snappy_encode(data, xerial_compatible=True)
    if codec == "zstd":
        import zstandard
        return zstandard.ZstdCompressor().compress(data)
    raise SystemExit(f"unknown codec {codec}")


def decompress(codec, data, size=None):
    if codec == "gzip":
        return gzip.decompress(data)
    if codec == "deflate":
        return zlib.decompress(data)
    if codec == "lz4-frame":
        return _lz4_frame().decompress(data)
    if codec == "lz4-block":
        return _lz4_block().decompress(data, uncompressed_size=size)
    if codec == "snappy":
        import snappy
        return snappy.uncompress(data)
    if codec == "snappy-xerial":
        from kafka.codec import snappy_decode
        return snappy_decode(data)
    if codec == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise SystemExit(f"unknown codec {codec}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "versions":
        import lz4, snappy, zstandard, kafka  # noqa: F401
        print(json.dumps({"zlib": zlib.ZLIB_RUNTIME_VERSION, "lz4": lz4.library_version_string(),
                          "zstd": zstandard.ZSTD_VERSION, "kafka-python": kafka.__version__}))
        return
    if len(sys.argv) != 3 or sys.argv[1] != "batch":
        raise SystemExit(__doc__)
    with open(sys.argv[2]) as f:
        manifest = json.load(f)
    for item in manifest:
        with open(item["in"], "rb") as f:
            data = f.read()
        if item["op"] == "compress":
            result = compress(item["codec"], data)
        else:
            result = decompress(item["codec"], data, item.get("size"))
        with open(item["out"], "wb") as f:
            f.write(result)
    print(f"ok {len(manifest)}")


if __name__ == "__main__":
    main()
