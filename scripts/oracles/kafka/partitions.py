#!/usr/bin/env python3
"""Default partition of keys with kafka-python's murmur2 partitioner (the Java client's algorithm).

Usage: partitions.py <partition_count> <key>...   Prints {"key": partition, ...}.
"""
import json, sys
from kafka.partitioner.default import DefaultPartitioner
n = int(sys.argv[1])
parts = list(range(n))
print(json.dumps({k: DefaultPartitioner()(k.encode(), parts, parts) for k in sys.argv[2:]}))
