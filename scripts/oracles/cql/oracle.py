#!/usr/bin/env python3
"""Golden vectors for CQLClient from the DataStax Python driver's own codec (cassandra-driver 3.30.x).

  oracle.py vectors            JSON on stdout: request frames encoded by the driver (v4, v5, v5 in
                               segments incl. lz4), response frames built from the driver's primitives
                               and decoded by the driver (summary included), and every CQL data type
                               serialized by the driver's cqltypes (NULLs and extremes).
  oracle.py decode-segments C  reads hex of v5 segments on stdin (C = none|lz4), decodes them with the
                               driver's SegmentCodec (CRC24/CRC32 checked) and prints the payload hex.
  oracle.py decode-frames V    reads hex of request frames on stdin; parses every frame with the
                               driver's read_* primitives and prints a JSON summary per frame.
  oracle.py decode-values      reads JSON [{"type": hex-of-[option], "hex": value-hex}] on stdin,
                               deserializes each with the driver and prints the JSON value encoding.

The value JSON encoding (shared with Tests/CQLClientTests/GoldenVectorTests.swift):
  null -> null; ints/counter/time/timestamp(ms)/date(days since epoch) -> string of the integer;
  varint -> decimal string; decimal -> {"unscaled": str, "scale": int}; float/double -> hex bit pattern;
  text/ascii -> string; blob -> hex; boolean -> bool; uuid/timeuuid -> string; inet -> string;
  duration -> [months, days, nanos] as strings; list/set/vector/tuple/udt -> list; map -> [[k, v], ...].
"""
import datetime, decimal, io, ipaddress, json, struct, sys, uuid, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cassandra import ConsistencyLevel as CL
from cassandra import cqltypes as T
from cassandra.protocol import (ProtocolHandler, StartupMessage, OptionsMessage, QueryMessage, PrepareMessage,
                                ExecuteMessage, BatchMessage, RegisterMessage, AuthResponseMessage,
                                read_int, read_short, read_string, read_longstring, read_stringlist, read_stringmap,
                                read_value, read_byte, read_binary_longstring, read_bytesmap)
from cassandra.marshal import uint32_unpack


def read_uint(f):
    return uint32_unpack(f.read(4))
from cassandra.query import BatchType
from cassandra.util import Duration, Date, Time
import wire as W

EPOCH = datetime.date(1970, 1, 1)


# ---- value <-> JSON ---------------------------------------------------------------------------
def jv(t, v):
    if v is None: return None
    k = t if isinstance(t, str) else t[0]
    if k in ("int", "bigint", "smallint", "tinyint", "counter", "varint"): return str(int(v))
    if k == "timestamp":
        if isinstance(v, datetime.datetime):
            d = v - datetime.datetime(1970, 1, 1)
            # the driver builds datetimes through floats; round to the nearest millisecond
            return str((d.days * 86400 + d.seconds) * 1000 + (d.microseconds + 500) // 1000)
        return str(int(v))
    if k == "date":
        if isinstance(v, Date): return str(v.days_from_epoch)
        return str((v - EPOCH).days)
    if k == "time":
        if isinstance(v, Time): return str(v.nanosecond_time)
        if isinstance(v, datetime.time): return str(((v.hour * 60 + v.minute) * 60 + v.second) * 10**9 + v.microsecond * 1000)
        return str(int(v))
    if k == "decimal":
        sign, digits, exp = v.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        return {"unscaled": str(unscaled), "scale": -exp}
    if k == "double": return struct.pack(">d", v).hex()
    if k == "float": return struct.pack(">f", v).hex()
    if k in ("text", "ascii"): return v
    if k == "blob": return bytes(v).hex()
    if k == "boolean": return bool(v)
    if k in ("uuid", "timeuuid"): return str(v)
    if k == "inet": return str(v)
    if k == "duration": return [str(v.months), str(v.days), str(v.nanoseconds)]
    if k in ("list", "set"): return [jv(t[1], x) for x in v]
    if k == "vector": return [jv(t[1], x) for x in v]
    if k == "map": return [[jv(t[1], a), jv(t[2], b)] for a, b in v.items()]
    if k == "tuple": return [jv(s, x) for s, x in zip(t[1:], v)]
    if k == "udt": return [jv(s, getattr(v, n) if hasattr(v, n) else v[i]) for i, (n, s) in enumerate(t[3])]
    raise ValueError(t)


def type_cases():
    """(name, type, [values]) covering every CQL type with NULLs and extremes."""
    U = uuid.UUID
    addr = ("udt", "ks", "address", [("street", "text"), ("zip", "int"), ("tags", ("set", "text"))])
    return [
        ("ascii", "ascii", ["", "hello", "~" * 3, None]),
        ("text", "text", ["", "héllo wörld ✓ 😀", "x" * 1000, None]),
        ("bigint", "bigint", [0, 1, -1, 2**63 - 1, -2**63, None]),
        ("counter", "counter", [0, 42, -2**63, 2**63 - 1]),
        ("int", "int", [0, 1, -1, 2**31 - 1, -2**31, None]),
        ("smallint", "smallint", [0, 2**15 - 1, -2**15, None]),
        ("tinyint", "tinyint", [0, 127, -128, None]),
        ("varint", "varint", [0, 1, -1, 127, 128, -128, -129, 255, 256, 2**63, -2**63 - 1, 10**40, -(10**40), None]),
        ("decimal", "decimal", [decimal.Decimal("0"), decimal.Decimal("12.345"), decimal.Decimal("-0.001"),
                                decimal.Decimal("123456789012345678901234567890.123456789"), decimal.Decimal("1E+5"), None]),
        ("double", "double", [0.0, -0.0, 1.5, -2.25, 1.7976931348623157e308, 5e-324, float("inf"), float("-inf"), None]),
        ("float", "float", [0.0, 1.5, -2.25, 3.4028234663852886e38, float("inf"), None]),
        ("boolean", "boolean", [True, False, None]),
        ("blob", "blob", [b"", b"\x00\x01\xff", bytes(range(256)), None]),
        ("uuid", "uuid", [U("12345678-1234-5678-1234-567812345678"), U(int=0), U(int=2**128 - 1), None]),
        ("timeuuid", "timeuuid", [U("d2177dd0-eaa2-11de-a572-001b779c76e3"), None]),
        ("inet", "inet", ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::ff00:42:8329", "fe80::1:2:3:4", None]),
        ("timestamp", "timestamp", [datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), datetime.datetime(1970, 1, 1),
                                    datetime.datetime(1900, 1, 1), datetime.datetime(9999, 12, 31, 23, 59, 59, 999000),
                                    datetime.datetime(1, 1, 1), 2**62, -2**62, None]),
        ("date", "date", [datetime.date(2024, 2, 29), datetime.date(1970, 1, 1), datetime.date(1, 1, 1),
                          datetime.date(9999, 12, 31), Date(-2**31), Date(2**31 - 1), None]),
        ("time", "time", [datetime.time(0, 0), datetime.time(23, 59, 59, 999999), Time(86399999999999), None]),
        ("duration", "duration", [Duration(0, 0, 0), Duration(1, 2, 3), Duration(-1, -2, -3),
                                  Duration(2**31 - 1, 2**31 - 1, 2**63 - 1), Duration(-2**31, -2**31, -2**63), Duration(0, 0, 127),
                                  Duration(0, 0, 128), Duration(12, 0, 1000000000), None]),
        ("list<int>", ("list", "int"), [[], [1, 2, 3], [-2**31, 2**31 - 1], None]),
        ("list<text>", ("list", "text"), [["a", "", "ü"], None]),
        ("set<text>", ("set", "text"), [["a", "b"], [], None]),
        ("set<uuid>", ("set", "uuid"), [[U(int=1), U(int=2)]]),
        ("map<text,bigint>", ("map", "text", "bigint"), [{"x": 1, "y": -2**63}, {}, None]),
        ("map<int,list<text>>", ("map", "int", ("list", "text")), [{1: ["a", "b"], 2: []}]),
        ("map<timeuuid,text>", ("map", "timeuuid", "text"), [{U("d2177dd0-eaa2-11de-a572-001b779c76e3"): "v"}]),
        ("tuple<int,text,boolean>", ("tuple", "int", "text", "boolean"), [(7, "seven", True), (None, "x", None), None]),
        ("tuple<bigint,tuple<int,int>>", ("tuple", "bigint", ("tuple", "int", "int")), [(1, (2, 3))]),
        ("udt address", addr, [("Main St", 12345, ["home", "work"]), ("", None, None), None]),
        ("list<frozen<address>>", ("list", addr), [[("a", 1, []), ("b", 2, ["x"])]]),
        ("map<text,frozen<address>>", ("map", "text", addr), [{"home": ("Main", 1, ["h"])}]),
        ("vector<float,3>", ("vector", "float", 3), [[1.0, -2.5, 3.25], None]),
        ("vector<bigint,2>", ("vector", "bigint", 2), [[2**63 - 1, -1]]),
        ("vector<text,2>", ("vector", "text", 2), [["a", "long" * 40]]),
        ("vector<varint,3>", ("vector", "varint", 3), [[0, 10**30, -1]]),
    ]


def py_value(t, v):
    """Adapt a case value to what the driver's serializer accepts."""
    if v is None: return None
    k = t if isinstance(t, str) else t[0]
    if k == "set": return [py_value(t[1], x) for x in v]  # list keeps a stable order
    if k == "list" or k == "vector": return [py_value(t[1], x) for x in v]
    if k == "map": return {py_value(t[1], a): py_value(t[2], b) for a, b in v.items()}
    if k == "tuple": return tuple(py_value(s, x) for s, x in zip(t[1:], v))
    if k == "udt": return tuple(py_value(s, x) for (n, s), x in zip(t[3], v))
    return v


def type_vectors():
    out = []
    for name, t, values in type_cases():
        ct = W.casstype(t)
        for v in values:
            pv = py_value(t, v)
            data = None if pv is None else ct.serialize(pv, 4)
            if data is not None:
                assert ct.serialize(pv, 5) == data
                try:
                    ct.deserialize(data, 4)  # the driver reads its own bytes back
                except OverflowError:
                    pass  # e.g. timestamps beyond Python's datetime range: the bytes are still the driver's

            out.append({"name": name, "type_hex": W.type_bytes(t).hex(), "value": jv(t, pv), "hex": None if data is None else data.hex()})
    return out


# ---- requests -----------------------------------------------------------------------------------
QID = bytes.fromhex("a1b2c3d4e5f60718293a4b5c6d7e8f90")
RMID = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")


def requests(version):
    """(name, message, spec) — spec is what the Swift test needs to build the same message."""
    i32 = lambda v: T.Int32Type.serialize(v, version)
    txt = lambda v: T.UTF8Type.serialize(v, version)
    r = []
    r.append(("OPTIONS", OptionsMessage(), {"op": "OPTIONS"}))
    opts = {"DRIVER_NAME": "Wirestack CQLClient", "DRIVER_VERSION": "0.1"}
    r.append(("STARTUP", StartupMessage(cqlversion="3.0.0", options=dict(opts)),
              {"op": "STARTUP", "options": [["DRIVER_NAME", "Wirestack CQLClient"], ["DRIVER_VERSION", "0.1"], ["CQL_VERSION", "3.0.0"]]}))
    r.append(("STARTUP lz4", StartupMessage(cqlversion="3.0.0", options={"COMPRESSION": "lz4"}),
              {"op": "STARTUP", "options": [["COMPRESSION", "lz4"], ["CQL_VERSION", "3.0.0"]]}))
    r.append(("REGISTER", RegisterMessage(["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]),
              {"op": "REGISTER", "events": ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]}))
    r.append(("AUTH_RESPONSE PLAIN", AuthResponseMessage(b"\x00cassandra\x00cassandra"),
              {"op": "AUTH_RESPONSE", "token": b"\x00cassandra\x00cassandra".hex()}))
    r.append(("AUTH_RESPONSE empty", AuthResponseMessage(b""), {"op": "AUTH_RESPONSE", "token": ""}))
    for cl in (CL.ANY, CL.ONE, CL.TWO, CL.THREE, CL.QUORUM, CL.ALL, CL.LOCAL_QUORUM, CL.EACH_QUORUM, CL.LOCAL_ONE):
        r.append((f"QUERY cl={cl}", QueryMessage("SELECT * FROM system.local WHERE key='local'", cl),
                  {"op": "QUERY", "query": "SELECT * FROM system.local WHERE key='local'", "consistency": cl}))
    r.append(("QUERY paged+serial+timestamp",
              QueryMessage("SELECT * FROM ks.t", CL.LOCAL_QUORUM, serial_consistency_level=CL.LOCAL_SERIAL, fetch_size=100,
                           paging_state=b"\x00\x01\x02", timestamp=1700000000000000),
              {"op": "QUERY", "query": "SELECT * FROM ks.t", "consistency": CL.LOCAL_QUORUM, "serial": CL.LOCAL_SERIAL,
               "page_size": 100, "paging_state": "000102", "timestamp": "1700000000000000"}))
    r.append(("QUERY zero timestamp", QueryMessage("UPDATE ks.t SET v=1 WHERE k=1", CL.ONE, timestamp=0),
              {"op": "QUERY", "query": "UPDATE ks.t SET v=1 WHERE k=1", "consistency": CL.ONE, "timestamp": "0"}))
    r.append(("QUERY unicode", QueryMessage("SELECT 'ü✓😀' FROM ks.t", CL.ONE),
              {"op": "QUERY", "query": "SELECT 'ü✓😀' FROM ks.t", "consistency": CL.ONE}))
    r.append(("PREPARE", PrepareMessage("INSERT INTO ks.t (k, v) VALUES (?, ?)"),
              {"op": "PREPARE", "query": "INSERT INTO ks.t (k, v) VALUES (?, ?)"}))
    vals = [i32(42), txt("hello")]
    r.append(("EXECUTE 2 values", ExecuteMessage(QID, vals, CL.QUORUM, fetch_size=5000,
                                                   result_metadata_id=RMID if version >= 5 else None),
              {"op": "EXECUTE", "id": QID.hex(), "rmid": RMID.hex() if version >= 5 else None, "consistency": CL.QUORUM,
               "page_size": 5000, "values": [v.hex() for v in vals]}))
    # (the driver 3.30 never writes the skip_metadata flag, so that flag is covered by decode-frames instead)
    r.append(("EXECUTE null value", ExecuteMessage(QID, [i32(1), None], CL.ONE,
                                                               result_metadata_id=RMID if version >= 5 else None),
              {"op": "EXECUTE", "id": QID.hex(), "rmid": RMID.hex() if version >= 5 else None, "consistency": CL.ONE,
               "values": [i32(1).hex(), None]}))
    r.append(("EXECUTE no values, paging, serial, timestamp",
              ExecuteMessage(QID, [], CL.LOCAL_ONE, serial_consistency_level=CL.SERIAL, fetch_size=1, paging_state=b"\xff" * 40,
                             timestamp=2**62, result_metadata_id=RMID if version >= 5 else None),
              {"op": "EXECUTE", "id": QID.hex(), "rmid": RMID.hex() if version >= 5 else None, "consistency": CL.LOCAL_ONE,
               "serial": CL.SERIAL, "page_size": 1, "paging_state": "ff" * 40, "timestamp": str(2**62), "values": []}))
    r.append(("BATCH logged mixed",
              BatchMessage(BatchType.LOGGED, [(False, "INSERT INTO ks.t (k, v) VALUES (1, 'a')", []), (True, QID, vals)],
                           CL.QUORUM, serial_consistency_level=CL.SERIAL, timestamp=1700000000000001),
              {"op": "BATCH", "type": 0, "statements": [{"query": "INSERT INTO ks.t (k, v) VALUES (1, 'a')", "values": []},
                                                        {"id": QID.hex(), "values": [v.hex() for v in vals]}],
               "consistency": CL.QUORUM, "serial": CL.SERIAL, "timestamp": "1700000000000001"}))
    r.append(("BATCH unlogged", BatchMessage(BatchType.UNLOGGED, [(False, "UPDATE ks.t SET v='x' WHERE k=3", [])], CL.ONE),
              {"op": "BATCH", "type": 1, "statements": [{"query": "UPDATE ks.t SET v='x' WHERE k=3", "values": []}], "consistency": CL.ONE}))
    r.append(("BATCH counter with null value", BatchMessage(BatchType.COUNTER, [(True, QID, [None, i32(5)])], CL.ALL),
              {"op": "BATCH", "type": 2, "statements": [{"id": QID.hex(), "values": [None, i32(5).hex()]}], "consistency": CL.ALL}))
    if version >= 5:
        r.append(("QUERY with keyspace", QueryMessage("SELECT * FROM t", CL.ONE, keyspace="ks"),
                  {"op": "QUERY", "query": "SELECT * FROM t", "consistency": CL.ONE, "keyspace": "ks"}))
        r.append(("PREPARE with keyspace", PrepareMessage("SELECT * FROM t WHERE k=?", keyspace="ks"),
                  {"op": "PREPARE", "query": "SELECT * FROM t WHERE k=?", "keyspace": "ks"}))
        r.append(("BATCH with keyspace", BatchMessage(BatchType.LOGGED, [(False, "INSERT INTO t (k) VALUES (1)", [])], CL.ONE, keyspace="ks"),
                  {"op": "BATCH", "type": 0, "statements": [{"query": "INSERT INTO t (k) VALUES (1)", "values": []}],
                   "consistency": CL.ONE, "keyspace": "ks"}))
    return r


def encode_request(msg, version, stream, tracing=False, custom_payload=None):
    if custom_payload is not None: msg.custom_payload = custom_payload
    msg.tracing = tracing
    return ProtocolHandler.encode_message(msg, stream, version, None, False)


# ---- responses ----------------------------------------------------------------------------------
ROW_COLS = [("k", "int"), ("name", "text"), ("big", "bigint"), ("ok", "boolean"), ("id", "uuid"), ("ts", "timestamp"),
            ("d", "double"), ("dec", "decimal"), ("vi", "varint"), ("ip", "inet"), ("day", "date"), ("b", "blob"),
            ("tags", ("set", "text")), ("l", ("list", "int")), ("m", ("map", "text", "bigint")),
            ("tup", ("tuple", "int", "text")), ("addr", ("udt", "ks", "address", [("street", "text"), ("zip", "int")])),
            ("small", "smallint"), ("tiny", "tinyint"), ("f", "float"), ("t", "time"), ("dur", "duration"),
            ("tu", "timeuuid"), ("a", "ascii"), ("vec", ("vector", "float", 2)), ("c", "counter")]
ROW1 = [1, "alice", 2**40, True, uuid.UUID("12345678-1234-5678-1234-567812345678"), datetime.datetime(2024, 1, 2, 3, 4, 5),
        3.5, decimal.Decimal("12.345"), 10**30, "10.0.0.1", datetime.date(2024, 2, 29), b"\xde\xad", ["a", "b"], [1, 2, 3],
        {"x": 1}, (7, "seven"), ("Main", 12345), -2, 7, 1.5, datetime.time(12, 30), Duration(1, 2, 3),
        uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3"), "plain", [0.5, -1.0], 99]
ROW2 = [2] + [None] * (len(ROW_COLS) - 1)


def responses(V):
    qid = QID
    ev = lambda **a: W.body_event(**a)
    out = [
        ("READY", W.OP["READY"], W.body_ready(), {}),
        ("AUTHENTICATE", W.OP["AUTHENTICATE"], W.body_authenticate(), {}),
        ("AUTH_CHALLENGE", W.OP["AUTH_CHALLENGE"], W.body_auth_token(b"\x01\x02"), {}),
        ("AUTH_SUCCESS null token", W.OP["AUTH_SUCCESS"], W.body_auth_token(None), {}),
        ("SUPPORTED", W.OP["SUPPORTED"], W.body_supported(), {}),
        ("RESULT Void", W.OP["RESULT"], W.body_result_void(), {}),
        ("RESULT Rows (all types, 2 rows incl. nulls)", W.OP["RESULT"],
         W.body_result_rows("ks", "t", ROW_COLS, [[W.py_value(t, v) if False else v for (n, t), v in zip(ROW_COLS, ROW1)], ROW2], V), {}),
        ("RESULT Rows empty", W.OP["RESULT"], W.body_result_rows("ks", "t", [("k", "int")], [], V), {}),
        ("RESULT Rows paged", W.OP["RESULT"], W.body_result_rows("ks", "t", [("k", "int")], [[1]], V, paging_state=b"\x00\x04\x00\x00\x00\x01"), {}),
        ("RESULT SetKeyspace", W.OP["RESULT"], W.body_result_set_keyspace("ks"), {}),
        ("RESULT Prepared", W.OP["RESULT"], W.body_result_prepared(qid, V, "ks", "t", [("k", "int"), ("v", "text")], [0], [("k", "int"), ("v", "text")]), {}),
        ("RESULT Prepared no result columns", W.OP["RESULT"], W.body_result_prepared(qid, V, "ks", "t", [("k", "int")], [0], []), {}),
        ("RESULT SchemaChange CREATED KEYSPACE", W.OP["RESULT"], W.body_result_schema_change("CREATED", "KEYSPACE", "ks"), {}),
        ("RESULT SchemaChange UPDATED TABLE", W.OP["RESULT"], W.body_result_schema_change("UPDATED", "TABLE", "ks", "t"), {}),
        ("RESULT SchemaChange CREATED FUNCTION", W.OP["RESULT"], W.body_result_schema_change("CREATED", "FUNCTION", "ks", "f", ["int", "text"]), {}),
        ("EVENT TOPOLOGY_CHANGE", W.OP["EVENT"], ev(kind="TOPOLOGY_CHANGE", change="NEW_NODE", addr="127.0.0.2", port=9042), {}),
        ("EVENT STATUS_CHANGE", W.OP["EVENT"], ev(kind="STATUS_CHANGE", change="DOWN", addr="::1", port=9042), {}),
        ("EVENT SCHEMA_CHANGE", W.OP["EVENT"], ev(kind="SCHEMA_CHANGE", change="UPDATED", target="TYPE", ks="ks", name="address"), {}),
        ("RESULT Void with warnings + tracing + custom payload", W.OP["RESULT"], None, {"flags": 0x02 | 0x04 | 0x08}),
    ]
    errors = [
        (0x0000, "server error", {}), (0x000A, "Invalid or unsupported protocol version (6); supported versions are (3/v3, 4/v4, 5/v5)", {}),
        (0x0100, "Provided username cassandra and/or password are incorrect", {}),
        (0x1000, "Cannot achieve consistency", dict(cl=4, required=2, alive=1)),
        (0x1001, "overloaded", {}), (0x1002, "bootstrapping", {}), (0x1003, "truncate failed", {}),
        (0x1100, "write timeout", dict(cl=1, received=0, blockfor=1, write_type="SIMPLE")),
        (0x1100, "cas write timeout", dict(cl=8, received=1, blockfor=2, write_type="CAS", contentions=3 if V >= 5 else None)),
        (0x1200, "read timeout", dict(cl=6, received=1, blockfor=2, data_present=True)),
        (0x1300, "read failure", dict(cl=6, received=1, blockfor=2, failures=1, reasons=[("127.0.0.2", 1)], data_present=False)),
        (0x1400, "function failure", dict(ks="ks", function="f", arg_types=["int", "text"])),
        (0x1500, "write failure", dict(cl=1, received=0, blockfor=1, failures=2, reasons=[("127.0.0.2", 0), ("::1", 2)], write_type="BATCH")),
        (0x1600, "cdc write failure", {}), (0x1700, "cas write unknown", dict(cl=9, received=0, blockfor=1)),
        (0x2000, "line 1:0 no viable alternative", {}), (0x2100, "unauthorized", {}), (0x2200, "unconfigured table t", {}),
        (0x2300, "config error", {}), (0x2400, "exists", dict(ks="ks", table="t")), (0x2400, "keyspace exists", dict(ks="ks", table="")),
        (0x2500, "unknown id", dict(id=qid)),
    ]
    for code, msg, extra in errors:
        out.append((f"ERROR 0x{code:04X} {msg[:30]}", W.OP["ERROR"], W.body_error(code, msg, V, **extra), {}))
    return out


def decoded_summary(msg):
    d = {"class": type(msg).__name__}
    for k in ("kind", "column_names", "paging_state", "new_keyspace", "query_id", "result_metadata_id", "pk_indexes",
              "schema_change_event", "authenticator", "options", "event_type", "event_args", "code", "message", "info",
              "warnings", "custom_payload", "trace_id", "challenge", "token"):
        v = getattr(msg, k, None)
        if v is not None and not callable(v): d[k] = jsonable(v)
    if isinstance(d.get("info"), dict) and isinstance(d["info"].get("write_type"), int):
        from cassandra.policies import WriteType
        d["info"]["write_type"] = WriteType.value_to_name[d["info"]["write_type"]]
    if getattr(msg, "column_types", None): d["column_types"] = [t.cql_parameterized_type() for t in msg.column_types]
    if getattr(msg, "parsed_rows", None) is not None:
        d["rows"] = [[jv(t, v) for (n, t), v in zip(ROW_COLS if len(r) == len(ROW_COLS) else [("k", "int")], r)] for r in msg.parsed_rows]
    return d


def jsonable(x):
    if isinstance(x, (bytes, bytearray)): return bytes(x).hex()
    if isinstance(x, (uuid.UUID, decimal.Decimal, datetime.date, datetime.datetime, datetime.time)): return str(x)
    if isinstance(x, (list, tuple)): return [jsonable(i) for i in x]
    if isinstance(x, (set, frozenset)): return sorted((jsonable(i) for i in x), key=str)
    if isinstance(x, dict): return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (int, float, str, bool)) or x is None: return x
    return str(x)


def response_frame(V, name, op, body, opts):
    from cassandra.protocol import write_stringlist, write_bytesmap
    flags = opts.get("flags", 0)
    if body is None:
        f = io.BytesIO()
        f.write(uuid.UUID("11111111-2222-3333-4444-555555555555").bytes)
        write_stringlist(f, ["Batch too large", "second warning"])
        write_bytesmap(f, {"k1": b"\x01\x02", "k2": b""})
        f.write(W.body_result_void())
        body = f.getvalue()
    stream = -1 if op == W.OP["EVENT"] else 7
    return W.frame(V, stream, op, body, flags=flags)


def vectors():
    res = {"requests": [], "responses": [], "types": type_vectors(), "segments": [], "murmur3": [], "v4_compression": []}
    for V in (4, 5):
        for name, msg, spec in requests(V):
            fr = encode_request(msg, V, stream=3)
            res["requests"].append({"version": V, "name": name, "spec": spec, "stream": 3, "frame_hex": fr.hex()})
        # tracing flag + custom payload on a QUERY
        msg = QueryMessage("SELECT now() FROM system.local", CL.ONE)
        fr = encode_request(msg, V, stream=300, tracing=True, custom_payload={"a": b"\x01", "b": b""})
        res["requests"].append({"version": V, "name": "QUERY tracing + custom payload", "stream": 300,
                                "spec": {"op": "QUERY", "query": "SELECT now() FROM system.local", "consistency": CL.ONE,
                                         "tracing": True, "custom_payload": {"a": "01", "b": ""}}, "frame_hex": fr.hex()})
        for name, op, body, opts in responses(V):
            fr = response_frame(V, name, op, body, opts)
            ver, flags, stream, opcode, length = struct.unpack(">BBhBi", fr[:9])
            msg = ProtocolHandler.decode_message(V, {}, stream, flags, opcode, fr[9:], None, None)
            res["responses"].append({"version": V, "name": name, "frame_hex": fr.hex(), "driver": decoded_summary(msg)})
    # v5 segments: small (self-contained, several frames), large (multi-segment), both plain and lz4
    small = b"".join(encode_request(QueryMessage(f"SELECT {i} FROM t", CL.ONE), 5, stream=i) for i in range(3))
    big = encode_request(QueryMessage("SELECT '" + ("xyz0123456789" * 23000) + "' FROM t", CL.ONE), 5, stream=9)
    for label, payload in (("three frames", small), ("one 299 KB frame", big)):
        for comp in ("none", "lz4"):
            seg = W.segments(payload, "lz4" if comp == "lz4" else None)
            back, flags = W.unsegment(seg, "lz4" if comp == "lz4" else None)
            assert back == payload
            res["segments"].append({"name": f"{label} {comp}", "compression": comp, "payload_hex": payload.hex(),
                                    "segments_hex": seg.hex(), "self_contained": flags})
    # v4 frame body compression with the driver's compressors
    from cassandra.connection import locally_supported_compressions as LSC
    body = encode_request(QueryMessage("SELECT * FROM ks.t WHERE k = 1 AND k = 1 AND k = 1 AND k = 1", CL.ONE), 4, stream=1)[9:]
    for algo in ("lz4", "snappy"):
        comp, _ = LSC[algo]
        res["v4_compression"].append({"algorithm": algo, "body_hex": body.hex(), "compressed_hex": comp(body).hex()})
    # murmur3 tokens from the driver's C extension
    from cassandra.murmur3 import murmur3
    for key in (b"", b"a", b"hello", b"0123456789abcdef", b"0123456789abcdefg", bytes(range(255)), b"\xff\x80\x81" * 7,
                struct.pack(">i", 42), struct.pack(">q", -1)):
        res["murmur3"].append({"key_hex": key.hex(), "token": str(murmur3(key))})
    return res


# ---- reverse direction: decode what CQLClient produced --------------------------------------------
def decode_frames(version, data):
    out = []
    f = io.BytesIO(data)
    while f.tell() < len(data):
        ver, flags, stream, opcode, length = struct.unpack(">BBhBi", f.read(9))
        body = io.BytesIO(f.read(length))
        d = {"version": ver, "flags": flags, "stream": stream, "opcode": W.OPNAME[opcode]}
        if flags & 0x04: d["custom_payload"] = {k: v.hex() for k, v in read_bytesmap(body).items()}
        if opcode == W.OP["STARTUP"]: d["options"] = read_stringmap(body)
        elif opcode == W.OP["REGISTER"]: d["events"] = read_stringlist(body)
        elif opcode == W.OP["AUTH_RESPONSE"]: d["token"] = read_binary_longstring(body).hex()
        elif opcode == W.OP["PREPARE"]:
            d["query"] = read_longstring(body)
            if version >= 5:
                fl = read_uint(body)
                if fl & 1: d["keyspace"] = read_string(body)
        elif opcode in (W.OP["QUERY"], W.OP["EXECUTE"]):
            if opcode == W.OP["QUERY"]: d["query"] = read_longstring(body)
            else:
                d["id"] = body.read(read_short(body)).hex()
                if version >= 5: d["rmid"] = body.read(read_short(body)).hex()
            d.update(read_params(body, version))
        elif opcode == W.OP["BATCH"]:
            d["type"] = read_byte(body); n = read_short(body); st = []
            for _ in range(n):
                kind = read_byte(body)
                e = {"query": read_longstring(body)} if kind == 0 else {"id": body.read(read_short(body)).hex()}
                e["values"] = [None if v is None else v.hex() for v in (read_value(body) for _ in range(read_short(body)))]
                st.append(e)
            d["statements"] = st; d["consistency"] = read_short(body)
            fl = read_uint(body) if version >= 5 else read_byte(body)
            if fl & 0x10: d["serial"] = read_short(body)
            if fl & 0x20: d["timestamp"] = str(struct.unpack(">q", body.read(8))[0])
            if fl & 0x80: d["keyspace"] = read_string(body)
            if fl & 0x100: d["now_in_seconds"] = read_int(body)
        rest = body.read()
        if rest: d["trailing"] = rest.hex()
        out.append(d)
    return out


def read_params(body, version):
    d = {"consistency": read_short(body)}
    fl = read_uint(body) if version >= 5 else read_byte(body)
    if fl & 0x01:
        n = read_short(body)
        if fl & 0x40:
            d["named_values"] = []
            for _ in range(n):
                name = read_string(body); v = read_value(body)
                d["named_values"].append([name, None if v is None else v.hex()])
        else:
            d["values"] = [None if v is None else v.hex() for v in (read_value(body) for _ in range(n))]
    if fl & 0x02: d["skip_metadata"] = True
    if fl & 0x04: d["page_size"] = read_int(body)
    if fl & 0x08: d["paging_state"] = read_binary_longstring(body).hex()
    if fl & 0x10: d["serial"] = read_short(body)
    if fl & 0x20: d["timestamp"] = str(struct.unpack(">q", body.read(8))[0])
    if fl & 0x80: d["keyspace"] = read_string(body)
    if fl & 0x100: d["now_in_seconds"] = read_int(body)
    return d


def decode_values(items):
    from cassandra.protocol import ResultMessage
    out = []
    for it in items:
        t_bytes = bytes.fromhex(it["type"])
        ct = ResultMessage.read_type(io.BytesIO(t_bytes), {})
        data = None if it["hex"] is None else bytes.fromhex(it["hex"])
        try:
            v = None if data is None else ct.deserialize(data, 4)
        except OverflowError:
            # the driver cannot represent timestamps beyond datetime's range; compare the raw milliseconds
            assert ct.typename == "timestamp", ct.typename
            v = struct.unpack(">q", data)[0]
        out.append(jv(py_type(ct), v))
    return out


def py_type(ct):
    """Driver cass type -> the tuple notation jv() understands."""
    name = ct.typename
    sub = getattr(ct, "subtypes", ())
    if "VectorType" in name: return ("vector", py_type(ct.subtype), ct.vector_size)
    if name in ("list", "set"): return (name, py_type(sub[0]))
    if name == "map": return ("map", py_type(sub[0]), py_type(sub[1]))
    if name == "tuple": return ("tuple",) + tuple(py_type(s) for s in sub)
    if getattr(ct, "fieldnames", None) is not None:
        return ("udt", getattr(ct, "keyspace", ""), name, list(zip(ct.fieldnames, [py_type(s) for s in sub])))
    return {"varchar": "text"}.get(name, name)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "vectors"
    if cmd == "vectors":
        json.dump(vectors(), sys.stdout)
    elif cmd == "decode-segments":
        payload, flags = W.unsegment(bytes.fromhex(sys.stdin.read().strip()), None if sys.argv[2] == "none" else sys.argv[2])
        print(json.dumps({"payload_hex": payload.hex(), "self_contained": flags}))
    elif cmd == "decode-frames":
        print(json.dumps(decode_frames(int(sys.argv[2]), bytes.fromhex(sys.stdin.read().strip()))))
    elif cmd == "decode-values":
        print(json.dumps(decode_values(json.load(sys.stdin))))
    else:
        sys.exit(__doc__)
