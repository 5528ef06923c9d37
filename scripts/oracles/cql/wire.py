"""Server-side CQL native protocol (v4/v5) encoders built on the DataStax Python driver's own
primitives (cassandra.protocol write_* helpers, cqltypes serializers, SegmentCodec).
Shared by oracle.py (golden vectors) and ../../cql-node/node.py (the project's CQL test node)."""
import io, struct
from cassandra import cqltypes as T
from cassandra.protocol import (write_int, write_short, write_string, write_stringlist, write_stringmultimap,
                                write_byte, write_inet, write_value)
from cassandra.segment import SegmentCodec

OP = dict(ERROR=0x00, STARTUP=0x01, READY=0x02, AUTHENTICATE=0x03, OPTIONS=0x05, SUPPORTED=0x06, QUERY=0x07,
          RESULT=0x08, PREPARE=0x09, EXECUTE=0x0A, REGISTER=0x0B, EVENT=0x0C, BATCH=0x0D, AUTH_CHALLENGE=0x0E,
          AUTH_RESPONSE=0x0F, AUTH_SUCCESS=0x10)
OPNAME = {v: k for k, v in OP.items()}
TYPE_ID = dict(custom=0x00, ascii=0x01, bigint=0x02, blob=0x03, boolean=0x04, counter=0x05, decimal=0x06,
               double=0x07, float=0x08, int=0x09, timestamp=0x0B, uuid=0x0C, text=0x0D, varchar=0x0D,
               varint=0x0E, timeuuid=0x0F, inet=0x10, date=0x11, time=0x12, smallint=0x13, tinyint=0x14,
               duration=0x15, list=0x20, map=0x21, set=0x22, udt=0x30, tuple=0x31)
MARSHAL = dict(ascii="AsciiType", bigint="LongType", blob="BytesType", boolean="BooleanType", counter="CounterColumnType",
               decimal="DecimalType", double="DoubleType", float="FloatType", int="Int32Type", timestamp="TimestampType",
               uuid="UUIDType", text="UTF8Type", varint="IntegerType", timeuuid="TimeUUIDType", inet="InetAddressType",
               date="SimpleDateType", time="TimeType", smallint="ShortType", tinyint="ByteType", duration="DurationType")
P = "org.apache.cassandra.db.marshal."


def frame(version, stream, opcode, body, flags=0, response=True):
    """v3+ frame header: version(|0x80 for responses) flags stream(signed 16) opcode length(32)."""
    return struct.pack(">BBhBi", version | (0x80 if response else 0), flags, stream, opcode, len(body)) + body


def marshal_name(t):
    if isinstance(t, str): return P + MARSHAL[t]
    k = t[0]
    if k in ("list", "set"): return P + ("ListType(%s)" if k == "list" else "SetType(%s)") % marshal_name(t[1])
    if k == "map": return P + "MapType(%s,%s)" % (marshal_name(t[1]), marshal_name(t[2]))
    if k == "tuple": return P + "TupleType(%s)" % ",".join(marshal_name(s) for s in t[1:])
    if k == "vector": return P + "VectorType(%s, %d)" % (marshal_name(t[1]), t[2])
    raise ValueError(t)


def write_type(f, t):
    """t: 'int' | ('list', t) | ('set', t) | ('map', k, v) | ('tuple', t1, ...) |
    ('udt', ks, name, [(field, t)...]) | ('vector', t, n)"""
    if isinstance(t, str):
        write_short(f, TYPE_ID[t]); return
    kind = t[0]
    if kind == "vector":
        write_short(f, 0); write_string(f, marshal_name(t)); return
    write_short(f, TYPE_ID[kind])
    if kind in ("list", "set"): write_type(f, t[1])
    elif kind == "map": write_type(f, t[1]); write_type(f, t[2])
    elif kind == "tuple":
        write_short(f, len(t) - 1)
        for s in t[1:]: write_type(f, s)
    elif kind == "udt":
        write_string(f, t[1]); write_string(f, t[2]); write_short(f, len(t[3]))
        for name, s in t[3]: write_string(f, name); write_type(f, s)


def type_bytes(t):
    f = io.BytesIO(); write_type(f, t); return f.getvalue()


def casstype(t):
    if isinstance(t, str): return T._cqltypes[t]
    kind = t[0]
    if kind in ("list", "set"): return T._cqltypes[kind].apply_parameters((casstype(t[1]),))
    if kind == "map": return T._cqltypes["map"].apply_parameters((casstype(t[1]), casstype(t[2])))
    if kind == "tuple": return T._cqltypes["tuple"].apply_parameters(tuple(casstype(s) for s in t[1:]))
    if kind == "udt":
        return T.UserType.make_udt_class(t[1], t[2], [n for n, _ in t[3]], [casstype(s) for _, s in t[3]])
    if kind == "vector": return T.lookup_casstype(marshal_name(t))
    raise ValueError(t)


def encode_value(t, v, version):
    return None if v is None else casstype(t).serialize(v, version)


# ---- response bodies ------------------------------------------------------------------------
def body_ready(): return b""


def body_authenticate(authenticator="org.apache.cassandra.auth.PasswordAuthenticator"):
    f = io.BytesIO(); write_string(f, authenticator); return f.getvalue()


def body_auth_token(kind_token):
    f = io.BytesIO(); write_value(f, kind_token); return f.getvalue()


def body_supported(opts=None):
    opts = opts or {"CQL_VERSION": ["3.4.7"], "COMPRESSION": ["lz4", "snappy"], "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"]}
    f = io.BytesIO(); write_stringmultimap(f, opts); return f.getvalue()


def write_rows_metadata(f, ks, table, cols, paging_state=None, no_metadata=False, new_metadata_id=None):
    flags = 0x0001 if (not no_metadata and cols) else 0
    if no_metadata: flags |= 0x0004
    if paging_state is not None: flags |= 0x0002
    if new_metadata_id is not None: flags |= 0x0008
    write_int(f, flags); write_int(f, len(cols))
    if paging_state is not None: write_int(f, len(paging_state)); f.write(paging_state)
    if new_metadata_id is not None: write_short(f, len(new_metadata_id)); f.write(new_metadata_id)
    if no_metadata or not cols: return
    write_string(f, ks); write_string(f, table)
    for name, t in cols: write_string(f, name); write_type(f, t)


def body_result_void():
    f = io.BytesIO(); write_int(f, 1); return f.getvalue()


def body_result_rows(ks, table, cols, rows, version, paging_state=None, new_metadata_id=None, no_metadata=False):
    f = io.BytesIO(); write_int(f, 2)
    write_rows_metadata(f, ks, table, cols, paging_state, no_metadata=no_metadata, new_metadata_id=new_metadata_id)
    write_int(f, len(rows))
    for r in rows:
        for (name, t), v in zip(cols, r): write_value(f, encode_value(t, v, version))
    return f.getvalue()


def body_result_rows_raw(ks, table, cols, raw_rows, paging_state=None, new_metadata_id=None, no_metadata=False):
    """raw_rows: lists of already serialized cells (bytes or None)."""
    f = io.BytesIO(); write_int(f, 2)
    write_rows_metadata(f, ks, table, cols, paging_state, no_metadata=no_metadata, new_metadata_id=new_metadata_id)
    write_int(f, len(raw_rows))
    for r in raw_rows:
        for cell in r: write_value(f, cell)
    return f.getvalue()


def body_result_set_keyspace(ks):
    f = io.BytesIO(); write_int(f, 3); write_string(f, ks); return f.getvalue()


def body_result_prepared(query_id, version, ks, table, bind_cols, pk_indexes, result_cols, result_metadata_id=b"\x01" * 16):
    f = io.BytesIO(); write_int(f, 4)
    write_short(f, len(query_id)); f.write(query_id)
    if version >= 5: write_short(f, len(result_metadata_id)); f.write(result_metadata_id)
    write_int(f, 0x0001 if bind_cols else 0); write_int(f, len(bind_cols))
    write_int(f, len(pk_indexes))
    for i in pk_indexes: write_short(f, i)
    if bind_cols:
        write_string(f, ks); write_string(f, table)
        for name, t in bind_cols: write_string(f, name); write_type(f, t)
    if result_cols: write_rows_metadata(f, ks, table, result_cols)
    else: write_int(f, 0x0004); write_int(f, 0)
    return f.getvalue()


def write_schema_change(f, change, target, ks, name=None, arg_types=None):
    write_string(f, change); write_string(f, target); write_string(f, ks)
    if target != "KEYSPACE": write_string(f, name)
    if target in ("FUNCTION", "AGGREGATE"): write_stringlist(f, arg_types or [])


def body_result_schema_change(change, target, ks, name=None, arg_types=None):
    f = io.BytesIO(); write_int(f, 5); write_schema_change(f, change, target, ks, name, arg_types); return f.getvalue()


def _write_reasons(f, version, extra):
    if version >= 5:
        reasons = extra.get("reasons", [])
        write_int(f, len(reasons))
        for addr, code in reasons:
            import socket
            packed = socket.inet_pton(socket.AF_INET6 if ":" in addr else socket.AF_INET, addr)
            write_byte(f, len(packed)); f.write(packed); write_short(f, code)
    else:
        write_int(f, extra["failures"])


def body_error(code, message, version=4, **extra):
    """Extra fields per spec section 9 (v4/v5)."""
    f = io.BytesIO(); write_int(f, code); write_string(f, message)
    if code == 0x1000:
        write_short(f, extra["cl"]); write_int(f, extra["required"]); write_int(f, extra["alive"])
    elif code == 0x1100:
        write_short(f, extra["cl"]); write_int(f, extra["received"]); write_int(f, extra["blockfor"])
        write_string(f, extra["write_type"])
        if version >= 5 and extra.get("contentions") is not None: write_short(f, extra["contentions"])
    elif code == 0x1200:
        write_short(f, extra["cl"]); write_int(f, extra["received"]); write_int(f, extra["blockfor"])
        write_byte(f, 1 if extra["data_present"] else 0)
    elif code == 0x1300:
        write_short(f, extra["cl"]); write_int(f, extra["received"]); write_int(f, extra["blockfor"])
        _write_reasons(f, version, extra); write_byte(f, 1 if extra["data_present"] else 0)
    elif code == 0x1400:
        write_string(f, extra["ks"]); write_string(f, extra["function"]); write_stringlist(f, extra["arg_types"])
    elif code == 0x1500:
        write_short(f, extra["cl"]); write_int(f, extra["received"]); write_int(f, extra["blockfor"])
        _write_reasons(f, version, extra); write_string(f, extra["write_type"])
    elif code == 0x1700:
        write_short(f, extra["cl"]); write_int(f, extra["received"]); write_int(f, extra["blockfor"])
    elif code == 0x2400:
        write_string(f, extra["ks"]); write_string(f, extra.get("table", ""))
    elif code == 0x2500:
        write_short(f, len(extra["id"])); f.write(extra["id"])
    return f.getvalue()


def body_event(kind, **a):
    f = io.BytesIO(); write_string(f, kind)
    if kind in ("TOPOLOGY_CHANGE", "STATUS_CHANGE"):
        write_string(f, a["change"]); write_inet(f, (a["addr"], a["port"]))
    else:
        write_schema_change(f, a["change"], a["target"], a["ks"], a.get("name"), a.get("arg_types"))
    return f.getvalue()


def segments(frames_bytes, compressor=None):
    """Wrap frames into v5 segment(s) with the driver's SegmentCodec (lz4 when compressor=='lz4')."""
    from cassandra.connection import segment_codec_lz4
    codec = segment_codec_lz4 if compressor == "lz4" else SegmentCodec()
    b = io.BytesIO(); codec.encode(b, frames_bytes); return b.getvalue()


def unsegment(data, compressor=None):
    """Decode v5 segments with the driver's SegmentCodec (checks CRC24/CRC32); returns (payload, [self_contained])."""
    from cassandra.connection import segment_codec_lz4
    codec = segment_codec_lz4 if compressor == "lz4" else SegmentCodec()
    buf = io.BytesIO(data); out = b""; flags = []
    while buf.tell() < len(data):
        hdr = codec.decode_header(buf); seg = codec.decode(buf, hdr); out += seg.payload; flags.append(seg.is_self_contained)
    return out, flags
