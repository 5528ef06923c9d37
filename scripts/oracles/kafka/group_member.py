#!/usr/bin/env python3
"""A librdkafka (confluent-kafka) consumer group member for rebalance tests.

Usage: group_member.py <bootstrap> <topic> <group> <seconds> <assignor>
Consumes for <seconds>, then closes (LeaveGroup). Prints JSON lines as it goes:
{"event": "assigned"|"revoked", "partitions": [...]} and finally {"event": "done", "consumed": n, "assignment": [...]}.
"""
import json, sys, time
from confluent_kafka import Consumer
bootstrap, topic, group, seconds, assignor = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "partition.assignment.strategy": assignor})
current = set()
def emit(**kw): print(json.dumps(kw), flush=True)
def on_assign(cons, ps):
    if assignor == "cooperative-sticky": current.update(p.partition for p in ps)
    else: current.clear(); current.update(p.partition for p in ps)
    emit(event="assigned", partitions=sorted(p.partition for p in ps))
def on_revoke(cons, ps):
    for p in ps: current.discard(p.partition)
    emit(event="revoked", partitions=sorted(p.partition for p in ps))
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
n = 0; t0 = time.time()
while time.time() - t0 < seconds:
    m = c.poll(0.2)
    if m is not None and not m.error(): n += 1
emit(event="done", consumed=n, assignment=sorted(current))
c.close()
