#!/usr/bin/env bash
# librdkafka anchor for the KafkaWire benchmarks: confluent-kafka produces 200k x 100-byte messages
# (acks=all, uncompressed and lz4) and consumes them, on the same broker as the Swift benchmarks.
# Usage: kafka_librdkafka.sh OUTDIR   (writes OUTDIR/anchor-kafka.json)
set -euo pipefail
OUT=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${WIRESTACK_PY:-python3}
B=${WIRESTACK_KAFKA_BENCH:-${WIRESTACK_KAFKA_TANSU:-127.0.0.1:19092}}
"$PY" -c 'import confluent_kafka' 2>/dev/null || { echo "note: kafka anchor skipped ($PY lacks confluent-kafka)" >&2; exit 0; }
(echo >/dev/tcp/${B%:*}/${B##*:}) 2>/dev/null || { echo "note: kafka anchor skipped (no broker at $B)" >&2; exit 0; }
"$PY" - "$ROOT" "$B" "$OUT/anchor-kafka.json" <<'PY'
import json, subprocess, sys, uuid
root, b, out = sys.argv[1], sys.argv[2], sys.argv[3]
from confluent_kafka.admin import AdminClient, NewTopic
results = []
admin = AdminClient({"bootstrap.servers": b})  # keep a reference: a collected client cancels its futures
for codec in ["none", "lz4"]:
    t = "anchor-" + uuid.uuid4().hex[:8]
    admin.create_topics([NewTopic(t, 1, 1)])[t].result(10)
    r = json.loads(subprocess.check_output([sys.executable, root + "/scripts/oracles/kafka/bench_librdkafka.py", b, t, "200000", codec, "all"]).decode().strip().splitlines()[-1])
    results.append({"name": f"librdkafka produce 200k x 100B acks=all {codec}", "opsPerSecond": r["produce_msgs_per_s"]})
    if codec == "none":
        results.append({"name": "librdkafka consume 200k x 100B", "opsPerSecond": r["consume_msgs_per_s"]})
json.dump({"results": results}, open(out, "w"), indent=1)
PY
