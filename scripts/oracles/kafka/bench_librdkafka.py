#!/usr/bin/env python3
"""librdkafka anchor for the KafkaWire benchmark: produce N 100-byte messages, then consume them.

Usage: bench_librdkafka.py <bootstrap> <topic> <n> <codec> <acks>
The topic must exist with one partition. Prints {"produce_msgs_per_s": x, "consume_msgs_per_s": y}.
The C library does the work: Python only calls produce() in a loop with large batches.
"""
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
bootstrap, topic, n, codec, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000, "batch.size": 1000000,
              "compression.codec": codec, "acks": acks, "queue.buffering.max.messages": 1000000,
              "enable.idempotence": acks == "all"})
payload = b"x" * 100
t0 = time.perf_counter()
for i in range(n):
    while True:
        try:
            p.produce(topic, payload, partition=0); break
        except BufferError:
            p.poll(0.005)
    if i % 20000 == 0: p.poll(0)
left = p.flush(120)
produce_dt = time.perf_counter() - t0
if left: raise SystemExit(f"{left} messages not delivered")
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-anchor", "enable.auto.commit": False, "fetch.max.bytes": 52428800})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got = 0; t0 = time.perf_counter()
while got < n and time.perf_counter() - t0 < 120:
    ms = c.consume(10000, 1.0)
    got += sum(1 for m in ms if not m.error())
consume_dt = time.perf_counter() - t0
c.close()
print(json.dumps({"produce_msgs_per_s": n / produce_dt, "consume_msgs_per_s": got / consume_dt, "consumed": got}))
