#!/usr/bin/env python3
"""CQL anchor: the DataStax Python driver (cassandra-driver, with its Cython extensions) against the
same CQL test node as CQLClientBenchmarks, in the same run. Called by CQLClientBenchmarks.

  cql_driver.py page OUT                       writes a RESULT Rows frame (v4, 1000 rows of the
                                               20-column bench table) built with the driver's own
                                               serializers, for both codec micro-benchmarks
  cql_driver.py decode FILE SECONDS            rows/s decoding that frame with the driver's
                                               ProtocolHandler.decode_message (Cython row parser)
  cql_driver.py client HOST PORT KEYSPACE SECONDS
                                               prepared EXECUTE ops/s with 1 and 64 requests in
                                               flight, and rows/s reading the wide partition in pages

Prints one JSON object on stdout.
"""
import io, json, os, sys, time, uuid, datetime, decimal, ipaddress
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "oracles", "cql"))

WIDE_COLUMNS = [("pk", "int"), ("ck", "int"), ("c_text1", "text"), ("c_text2", "text"), ("c_big1", "bigint"),
                ("c_big2", "bigint"), ("c_int", "int"), ("c_double", "double"), ("c_float", "float"), ("c_bool", "boolean"),
                ("c_uuid", "uuid"), ("c_timeuuid", "timeuuid"), ("c_ts", "timestamp"), ("c_date", "date"), ("c_blob", "blob"),
                ("c_small", "smallint"), ("c_tiny", "tinyint"), ("c_dec", "decimal"), ("c_inet", "inet"), ("c_varint", "varint")]


def wide_row(pk, ck):
    from cassandra.util import Date
    return [pk, ck, "message body %d" % ck, "sender-%d" % (ck % 97), 1_700_000_000_000 + ck, -ck, ck * 3, ck / 7.0, ck / 3.0,
            ck % 2 == 0, uuid.UUID(int=ck + 1), uuid.UUID("00000000-0000-1000-8000-%012x" % (ck + 1)),
            datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=ck), Date(20_000 + ck % 365), bytes([ck % 256]) * 16,
            ck % 30000, ck % 120, decimal.Decimal("%d.%02d" % (ck, ck % 100)), "10.0.%d.%d" % (ck // 256 % 256, ck % 256),
            ck * 1_000_003]


def page(out):
    import wire as W
    rows = [wide_row(0, ck) for ck in range(1000)]
    body = W.body_result_rows("bench", "wide", WIDE_COLUMNS, rows, 4)
    with open(out, "wb") as f:
        f.write(W.frame(4, 1, W.OP["RESULT"], body))
    print(json.dumps({"rows": len(rows), "bytes": 9 + len(body)}))


def decode(path, seconds):
    from cassandra.protocol import ProtocolHandler
    data = open(path, "rb").read()
    body = data[9:]
    rows = 0
    decode_message = ProtocolHandler.decode_message
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        msg = decode_message(4, {}, 1, 0, 0x08, body, None, None)
        rows += len(msg.parsed_rows)
    elapsed = time.perf_counter() - start
    print(json.dumps({"python decode rows/s": rows / elapsed}))


def client(host, port, ks, seconds):
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.concurrent import execute_concurrent_with_args
    from cassandra.policies import RoundRobinPolicy
    from cassandra.query import SimpleStatement
    from cassandra import ConsistencyLevel
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), consistency_level=ConsistencyLevel.ONE, request_timeout=30)
    cluster = Cluster([host], port=port, protocol_version=4, schema_metadata_enabled=False, token_metadata_enabled=False,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    session = cluster.connect(ks)
    select = session.prepare("SELECT k, v FROM kv WHERE k = ?")
    out = {}
    # 1 in flight
    n = 0
    start = time.perf_counter(); deadline = start + seconds
    while time.perf_counter() < deadline:
        session.execute(select, (n % 100,)); n += 1
    out["python execute x1"] = n / (time.perf_counter() - start)
    # 64 in flight (the driver's own windowed concurrent executor)
    n = 0
    start = time.perf_counter(); deadline = start + seconds
    batch = [(i % 100,) for i in range(2048)]
    while time.perf_counter() < deadline:
        execute_concurrent_with_args(session, select, batch, concurrency=64, raise_on_first_error=True, results_generator=False)
        n += len(batch)
    out["python execute x64"] = n / (time.perf_counter() - start)
    # rows: the 5000-row wide partition in pages of 1000
    rows = 0
    wide = SimpleStatement("SELECT pk, ck, c_text1, c_text2, c_big1, c_big2, c_int, c_double, c_float, c_bool, c_uuid, c_timeuuid, c_ts, c_date, c_blob, c_small, c_tiny, c_dec, c_inet, c_varint FROM wide WHERE pk = 0", fetch_size=1000)
    start = time.perf_counter(); deadline = start + seconds
    while time.perf_counter() < deadline:
        for r in session.execute(wide):
            rows += 1
    out["python page rows/s"] = rows / (time.perf_counter() - start)
    cluster.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "page": page(sys.argv[2])
    elif cmd == "decode": decode(sys.argv[2], float(sys.argv[3]))
    elif cmd == "client": client(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    else: sys.exit(__doc__)
