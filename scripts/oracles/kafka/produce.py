#!/usr/bin/env python3
"""Produce N keyed records with headers and timestamps using a second Kafka client.

Usage: produce.py <ck|kp> <bootstrap> <topic> <codec> <n> [partition|-] [timestamp_base_ms]
Prints one JSON object: {"records": [{"key", "partition", "offset"}]}.
ck = confluent-kafka (librdkafka, partitioner murmur2_random = Java's), kp = kafka-python.
Record i: key "key-i", value "value-i-" + "x"*100, header ("idx", str(i)) and ("bin", b"\x00\xff"),
timestamp base + i (base defaults to 1700000000000; brokers apply retention to old timestamps, so tests pass a recent base).
"""
import json, sys
kind, bootstrap, topic, codec, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
partition = None if len(sys.argv) < 7 or sys.argv[6] == "-" else int(sys.argv[6])
base = int(sys.argv[7]) if len(sys.argv) > 7 else 1700000000000
out = []
if kind == "ck":
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "compression.codec": codec, "partitioner": "murmur2_random", "linger.ms": 10})
    def cb(err, msg):
        if err: raise SystemExit(f"delivery failed: {err}")
        out.append({"key": msg.key().decode(), "partition": msg.partition(), "offset": msg.offset()})
    for i in range(n):
        kw = {"key": f"key-{i}".encode(), "value": (f"value-{i}-" + "x" * 100).encode(),
              "headers": [("idx", str(i).encode()), ("bin", b"\x00\xff")], "timestamp": base + i, "on_delivery": cb}
        if partition is not None: kw["partition"] = partition
        p.produce(topic, **kw)
    if p.flush(30): raise SystemExit("unflushed messages")
else:
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=None if codec == "none" else codec, linger_ms=10)
    fs = []
    for i in range(n):
        fs.append((i, p.send(topic, key=f"key-{i}".encode(), value=(f"value-{i}-" + "x" * 100).encode(),
                             headers=[("idx", str(i).encode()), ("bin", b"\x00\xff")], timestamp_ms=base + i, partition=partition)))
    p.flush()
    for i, f in fs:
        md = f.get(30)
        out.append({"key": f"key-{i}", "partition": md.partition, "offset": md.offset})
    p.close()
print(json.dumps({"records": out}))
