#!/usr/bin/env python3
"""Consume N records from a topic (all partitions, from the beginning) with a second Kafka client.

Usage: consume.py <ck|kp> <bootstrap> <topic> <n> [read_committed] [timeout_s]
Prints {"records": [{"partition","offset","key","value","headers":[[k, hex]],"timestamp"}]} sorted by (partition, offset).
"""
import json, sys, time
kind, bootstrap, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
iso = sys.argv[5] if len(sys.argv) > 5 else "read_uncommitted"
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 20
recs = []
def dec(b): return None if b is None else b.decode("utf-8", "replace")
t0 = time.time()
if kind == "ck":
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "oracle-unused", "enable.auto.commit": False, "isolation.level": iso})
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.topics[topic].partitions])
    while len(recs) < n and time.time() - t0 < timeout:
        m = c.poll(0.3)
        if m is None: continue
        if m.error(): continue
        recs.append({"partition": m.partition(), "offset": m.offset(), "key": dec(m.key()), "value": dec(m.value()),
                     "headers": [[k, (v or b"").hex()] for k, v in (m.headers() or [])], "timestamp": m.timestamp()[1]})
    if iso == "read_committed":
        end = time.time() + 2  # read_committed: make sure nothing else arrives
        while time.time() < end:
            m = c.poll(0.3)
            if m is not None and not m.error():
                recs.append({"partition": m.partition(), "offset": m.offset(), "key": dec(m.key()), "value": dec(m.value()), "headers": [], "timestamp": m.timestamp()[1]})
    c.close()
else:
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=iso)
    parts = c.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    c.assign(tps); c.seek_to_beginning(*tps)
    while len(recs) < n and time.time() - t0 < timeout:
        for _, ms in c.poll(timeout_ms=300).items():
            for m in ms:
                recs.append({"partition": m.partition, "offset": m.offset, "key": dec(m.key), "value": dec(m.value),
                             "headers": [[k, (v or b"").hex()] for k, v in (m.headers or [])], "timestamp": m.timestamp})
    c.close()
recs.sort(key=lambda r: (r["partition"], r["offset"]))
print(json.dumps({"records": recs}))
