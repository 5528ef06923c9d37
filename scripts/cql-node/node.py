#!/usr/bin/env python3
"""The project's CQL test node: a CQL native protocol v4/v5 server (v5 segments with CRC24/CRC32,
lz4 segments, v4 lz4/snappy frame compression) with an in-memory engine for what a chat schema
needs. Built on the DataStax Python driver's protocol primitives (scripts/oracles/cql/wire.py).

  node.py [--host 127.0.0.1] [--port 19042] [--nodes N] [--max-version 5] [--auth user:pass]
          [--compression lz4,snappy] [--log FILE] [--tls DIR]

--nodes N listens on 127.0.0.1 ... 127.0.0.N (same port), one shared engine, each address a
"node" with its own host id and token, listed in the others' system.peers_v2.
Test hook: `DELETE FROM system.prepared_statements` makes the node forget every prepared
statement (the next EXECUTE gets UNPREPARED).

--tls DIR serves TLS only, with DIR/server.crt + DIR/server.key; when DIR has none, a CA (DIR/ca.crt)
and a server certificate for 127.0.0.1/localhost signed by it are generated there with openssl.

Fault-injection hooks for driver tests (QUERY text, answered by any node address; they act on the
data requests -- QUERY/EXECUTE/BATCH other than system tables and hooks -- of the named address):
  WIRESTACK FAULT {"node": "127.0.0.2", "kind": "delay", "ms": 30000, "count": 1}
      kind: delay (answer after ms), read_timeout {received, blockfor, data_present},
      write_timeout {received, blockfor, write_type}, unavailable {required, alive}, overloaded;
      count: how many data requests it applies to (-1: all); "cl" overrides the reported consistency
  WIRESTACK STATS   -> rows (node text, requests int, consistency int): data requests received per
                       address and the consistency of the latest one
  WIRESTACK RESET   -> clears faults and counters
  WIRESTACK EVENT {"type": "TOPOLOGY_CHANGE"|"STATUS_CHANGE", "change": "REMOVED_NODE"|"NEW_NODE"|"UP"|"DOWN", "addr": "127.0.0.3"}
                    -> sends that EVENT to every connection REGISTERed for it; REMOVED_NODE / NEW_NODE
                       also hide / show the address in system.peers(_v2)
"""
import argparse, asyncio, datetime, hashlib, io, json, os, ssl, struct, subprocess, sys, uuid
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracles", "cql"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cassandra.protocol import (read_longstring, read_string, read_stringmap, read_stringlist, read_short, read_int,
                                read_value, read_byte, read_binary_longstring, read_bytesmap)
from cassandra.marshal import uint32_unpack
from cassandra.segment import SegmentCodec
from cassandra.util import OrderedMapSerializedKey, SortedSet
import wire as W
import cqlparse
from engine import Engine, CQLError

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=19042)
ap.add_argument("--nodes", type=int, default=1)
ap.add_argument("--max-version", type=int, default=5)
ap.add_argument("--auth", default=None)
ap.add_argument("--compression", default="lz4,snappy")
ap.add_argument("--datacenter", default="datacenter1")
ap.add_argument("--log", default=None)
ap.add_argument("--tls", default=None, help="directory with server.crt/server.key (generated when missing)")
args = ap.parse_args()
# a parent that started us from a thread with blocked signals (e.g. Foundation's Process) passes the
# mask on: unblock so SIGTERM / SIGINT stop the node
import signal
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
LOG = open(args.log, "a", buffering=1) if args.log else None
ENGINE = Engine()
CONNECTIONS = set()
SCHEMA_V = uuid.UUID("e84b6a60-24cf-30ca-9b58-452d92911703")
FAULTS = {}   # address -> list of fault dicts (applied in order, each `count` times)
STATS = {}    # address -> [data requests received, consistency of the latest]
HIDDEN = set()  # addresses left out of system.peers(_v2) (WIRESTACK EVENT ... REMOVED_NODE)


def log(s):
    if LOG: print(s, file=LOG)


def node_addresses():
    if args.nodes == 1: return [args.host]
    base = args.host.rsplit(".", 1)[0]
    return [f"{base}.{i + 1}" for i in range(args.nodes)]


ADDRS = node_addresses()
NODE_IDS = {a: uuid.UUID(hashlib.md5(a.encode()).hexdigest()) for a in ADDRS}
TOKENS = {a: str(-2**63 + i * (2**64 // len(ADDRS)) + 1) for i, a in enumerate(ADDRS)}

LOCAL_COLS = [("key", "text"), ("bootstrapped", "text"), ("broadcast_address", "inet"), ("broadcast_port", "int"),
              ("cluster_name", "text"), ("cql_version", "text"), ("data_center", "text"), ("host_id", "uuid"),
              ("listen_address", "inet"), ("listen_port", "int"), ("native_protocol_version", "text"),
              ("partitioner", "text"), ("rack", "text"), ("release_version", "text"), ("rpc_address", "inet"),
              ("rpc_port", "int"), ("schema_version", "uuid"), ("tokens", ("set", "text"))]
PEERS_V2_COLS = [("peer", "inet"), ("peer_port", "int"), ("data_center", "text"), ("host_id", "uuid"), ("native_address", "inet"),
                 ("native_port", "int"), ("rack", "text"), ("release_version", "text"), ("schema_version", "uuid"), ("tokens", ("set", "text"))]
PEERS_COLS = [("peer", "inet"), ("data_center", "text"), ("host_id", "uuid"), ("rack", "text"), ("release_version", "text"),
              ("rpc_address", "inet"), ("schema_version", "uuid"), ("tokens", ("set", "text"))]


def project(ql, ks, table, cols, rows, V):
    """Applies the SELECT column list of a system-table query."""
    sel = ql[len("select "):ql.index(" from ")].strip()
    if sel == "*" or not ql.startswith("select "):
        return W.body_result_rows(ks, table, cols, rows, V)
    wanted = [c.strip() for c in sel.split(",")]
    idx = {n: i for i, (n, _) in enumerate(cols)}
    keep = [idx[w] for w in wanted if w in idx]
    return W.body_result_rows(ks, table, [cols[i] for i in keep], [[r[i] for i in keep] for r in rows], V)


def system_query(addr, ql, V):
    """Answers for system tables (None when not a system query)."""
    if " from system.local" in ql:
        row = ["local", "COMPLETED", addr, 7000, "wirestack-cql-node", "3.4.7", args.datacenter, NODE_IDS[addr], addr, 7000,
               str(V), "org.apache.cassandra.dht.Murmur3Partitioner", "rack1", "4.1.3", addr, args.port, SCHEMA_V, [TOKENS[addr]]]
        return project(ql, "system", "local", LOCAL_COLS, [row], V)
    if " from system.peers_v2" in ql:
        rows = [[a, 7000, args.datacenter, NODE_IDS[a], a, args.port, "rack1", "4.1.3", SCHEMA_V, [TOKENS[a]]] for a in ADDRS
                if a != addr and a not in HIDDEN]
        return project(ql, "system", "peers_v2", PEERS_V2_COLS, rows, V)
    if " from system.peers" in ql:
        rows = [[a, args.datacenter, NODE_IDS[a], "rack1", "4.1.3", a, SCHEMA_V, [TOKENS[a]]] for a in ADDRS
                if a != addr and a not in HIDDEN]
        return project(ql, "system", "peers", PEERS_COLS, rows, V)
    if "system_schema." in ql or "system_virtual_schema." in ql:
        tbl = ql.split("from", 1)[1].split()[0]
        return W.body_result_rows(*tbl.split(".")[:2], [("keyspace_name", "text")], [], V)
    return None


def plain(v):
    """Driver-deserialized values -> plain Python values the engine stores."""
    if isinstance(v, OrderedMapSerializedKey) or isinstance(v, dict): return {plain(k): plain(x) for k, x in v.items()}
    if isinstance(v, SortedSet): return [plain(x) for x in v]
    if isinstance(v, (set, frozenset)): return sorted(plain(x) for x in v)
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, tuple): return tuple(plain(x) for x in v)
    return v


def result_body(res, V, skip_metadata=False, new_metadata_id=None):
    kind = res[0]
    if kind == "void": return W.body_result_void()
    if kind == "keyspace": return W.body_result_set_keyspace(res[1])
    if kind == "schema": return W.body_result_schema_change(res[1], res[2], res[3], res[4])
    _, ks, table, cols, rows, nxt = res
    return W.body_result_rows(ks, table, cols, rows, V, paging_state=nxt, new_metadata_id=new_metadata_id,
                              no_metadata=skip_metadata and new_metadata_id is None)


def metadata_id(cols):
    return hashlib.md5(repr(cols).encode()).digest()


STATS_COLS = [("node", "text"), ("requests", "int"), ("consistency", "int")]
ERROR_CODES = {"read_timeout": 0x1200, "write_timeout": 0x1100, "unavailable": 0x1000, "overloaded": 0x1001}


def hook_query(q, V):
    """WIRESTACK FAULT/STATS/RESET (see the module docstring); None for other queries."""
    if not q.lstrip().upper().startswith("WIRESTACK "): return None
    cmd, _, rest = q.strip()[len("WIRESTACK "):].partition(" ")
    cmd = cmd.upper()
    if cmd == "FAULT":
        f = json.loads(rest)
        f.setdefault("count", 1)
        FAULTS.setdefault(f["node"], []).append(f)
        return W.body_result_void()
    if cmd == "STATS":
        rows = [[a, STATS.get(a, [0, 0])[0], STATS.get(a, [0, 0])[1]] for a in ADDRS]
        return W.body_result_rows("system", "wirestack_stats", STATS_COLS, rows, V)
    if cmd == "RESET":
        FAULTS.clear(); STATS.clear()
        return W.body_result_void()
    if cmd == "EVENT":
        e = json.loads(rest)
        if e["type"] == "TOPOLOGY_CHANGE" and e["change"] == "REMOVED_NODE": HIDDEN.add(e["addr"])
        if e["type"] == "TOPOLOGY_CHANGE" and e["change"] == "NEW_NODE": HIDDEN.discard(e["addr"])
        for c in list(CONNECTIONS):
            try: c.node_event(e["type"], e["change"], e["addr"])
            except Exception: pass
        return W.body_result_void()
    raise cqlparse.CQLSyntaxError(f"unknown hook {cmd}")


def is_internal(q):
    ql = " ".join(q.split()).lower()
    return ql.startswith("wirestack ") or " from system." in ql or "system_schema." in ql or "system_virtual_schema." in ql \
        or ql.startswith("delete from system.prepared_statements")


def data_request(addr, consistency):
    """Counts a data request on addr and returns the fault to apply to it (or None)."""
    st = STATS.setdefault(addr, [0, 0]); st[0] += 1; st[1] = consistency
    queue = FAULTS.get(addr)
    while queue:
        f = queue[0]
        if f["count"] == 0: queue.pop(0); continue
        if f["count"] > 0: f["count"] -= 1
        return f
    return None


def fault_error(f, consistency, V):
    kind = f["kind"]; cl = f.get("cl", consistency)
    if kind == "read_timeout":
        return W.body_error(0x1200, "Operation timed out - received only %d responses." % f.get("received", 0), V, cl=cl,
                            received=f.get("received", 0), blockfor=f.get("blockfor", 1), data_present=f.get("data_present", False))
    if kind == "write_timeout":
        return W.body_error(0x1100, "Operation timed out - received only %d responses." % f.get("received", 0), V, cl=cl,
                            received=f.get("received", 0), blockfor=f.get("blockfor", 1), write_type=f.get("write_type", "SIMPLE"))
    if kind == "unavailable":
        return W.body_error(0x1000, "Cannot achieve consistency level", V, cl=cl, required=f.get("required", 1), alive=f.get("alive", 0))
    if kind == "overloaded":
        return W.body_error(0x1001, "Too many in flight requests", V)
    raise ValueError(f"unknown fault kind {kind}")


def ensure_certs(d):
    """Generates a CA and a server certificate for 127.0.0.1/localhost in d unless present."""
    crt, key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
    if os.path.exists(crt) and os.path.exists(key): return crt, key
    os.makedirs(d, exist_ok=True)
    def run(*a): subprocess.run(["openssl", *a], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ca, cakey = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=wirestack-cql-test-ca", "-keyout", cakey, "-out", ca)
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "san.ext")
    with open(ext, "w") as e: e.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key + ".tmp", "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", crt)
    os.replace(key + ".tmp", key)
    return crt, key


class Conn:
    def __init__(self, reader, writer, addr):
        self.reader, self.writer, self.addr = reader, writer, addr
        self.version = None
        self.segments = False
        self.compression = None
        self.keyspace = None
        self.events = set()
        self.authenticated = args.auth is None
        self.codec = SegmentCodec()
        peer = writer.get_extra_info("peername")
        self.name = f"{addr}<-{peer[0]}:{peer[1]}" if peer else addr

    def send_frame(self, V, stream, op, body, flags=0):
        if self.compression and not self.segments and V < 5 and op not in (W.OP["SUPPORTED"],) and self.startup_done:
            from cassandra.connection import locally_supported_compressions as LSC
            body = LSC[self.compression][0](body); flags |= 0x01
        fr = W.frame(V, stream, op, body, flags=flags)
        self.writer.write(W.segments(fr, self.compression if self.compression == "lz4" else None) if self.segments else fr)

    startup_done = False

    def event(self, change, target, ks, name):
        if "SCHEMA_CHANGE" in self.events and self.version:
            self.send_frame(self.version, -1, W.OP["EVENT"], W.body_event("SCHEMA_CHANGE", change=change, target=target, ks=ks, name=name))

    def node_event(self, kind, change, addr):
        if kind in self.events and self.version:
            self.send_frame(self.version, -1, W.OP["EVENT"], W.body_event(kind, change=change, addr=addr, port=args.port))

    def handle(self, V, flags, stream, op, body):
        f = io.BytesIO(body)
        if flags & 0x04: read_bytesmap(f)
        if op == W.OP["OPTIONS"]:
            comps = [c for c in args.compression.split(",") if c]
            return W.OP["SUPPORTED"], W.body_supported({"CQL_VERSION": ["3.4.7"], "COMPRESSION": comps,
                                                        "PROTOCOL_VERSIONS": ["3/v3", "4/v4"] + (["5/v5"] if args.max_version >= 5 else [])})
        if op == W.OP["STARTUP"]:
            opts = read_stringmap(f)
            comp = opts.get("COMPRESSION")
            if comp:
                if comp not in args.compression.split(",") or (V >= 5 and comp != "lz4"):
                    return W.OP["ERROR"], W.body_error(0x000A, f"Unknown compression algorithm: {comp}")
                self.compression = comp
            self.version = V
            if not self.authenticated: return W.OP["AUTHENTICATE"], W.body_authenticate()
            return W.OP["READY"], W.body_ready()
        if op == W.OP["AUTH_RESPONSE"]:
            token = read_binary_longstring(f) or b""
            parts = token.split(b"\x00")
            user, pw = args.auth.split(":", 1)
            if len(parts) == 3 and parts[1].decode() == user and parts[2].decode() == pw:
                self.authenticated = True
                return W.OP["AUTH_SUCCESS"], W.body_auth_token(None)
            return W.OP["ERROR"], W.body_error(0x0100, f"Provided username {parts[1].decode(errors='replace') if len(parts) > 1 else ''} and/or password are incorrect")
        if not self.authenticated:
            return W.OP["ERROR"], W.body_error(0x000A, "Unexpected message, authentication required")
        if op == W.OP["REGISTER"]:
            self.events = set(read_stringlist(f)); return W.OP["READY"], W.body_ready()
        try:
            if op == W.OP["QUERY"]:
                q = read_longstring(f)
                params = self.read_params(f, V)
                if not is_internal(q):
                    fault = self.fault(params["consistency"], V)
                    if fault: return fault
                return self.run_query(q, params, V)
            if op == W.OP["PREPARE"]:
                q = read_longstring(f)
                ks = self.keyspace
                if V >= 5:
                    fl = uint32_unpack(f.read(4))
                    if fl & 1: ks = read_string(f)
                return self.prepare(q, ks, V)
            if op == W.OP["EXECUTE"]:
                qid = f.read(read_short(f))
                rmid = f.read(read_short(f)) if V >= 5 else None
                params = self.read_params(f, V)
                p = ENGINE.prepared.get(qid)
                if p is None or p["stmt"]["kind"] != "system":
                    fault = self.fault(params["consistency"], V)
                    if fault: return fault
                return self.execute(qid, rmid, params, V)
            if op == W.OP["BATCH"]:
                return self.batch(f, V)
        except CQLError as e:
            return W.OP["ERROR"], W.body_error(e.code, e.message, V, **e.extra)
        except cqlparse.CQLSyntaxError as e:
            return W.OP["ERROR"], W.body_error(0x2000, str(e))
        return W.OP["ERROR"], W.body_error(0x000A, f"unsupported opcode {op}")

    def fault(self, consistency, V):
        """Counts a data request and applies a pending fault: an ERROR answer, or a delay (the
        answer is computed now and sent after `ms`)."""
        f = data_request(self.addr, consistency)
        if f is None: return None
        if f["kind"] == "delay":
            self.delay = f.get("ms", 1000) / 1000.0
            return None
        return W.OP["ERROR"], fault_error(f, consistency, V)

    delay = None

    def read_params(self, f, V):
        p = {"consistency": read_short(f)}
        fl = uint32_unpack(f.read(4)) if V >= 5 else read_byte(f)
        p["values"] = []
        if fl & 0x01:
            n = read_short(f)
            for _ in range(n):
                if fl & 0x40: read_string(f)
                ln = read_int(f)
                p["values"].append(None if ln < 0 else f.read(ln))
        p["skip_metadata"] = bool(fl & 0x02)
        p["page_size"] = read_int(f) if fl & 0x04 else None
        p["paging_state"] = read_binary_longstring(f) if fl & 0x08 else None
        if fl & 0x10: read_short(f)
        if fl & 0x20: f.read(8)
        p["keyspace"] = read_string(f) if fl & 0x80 else None
        if fl & 0x100: read_int(f)
        return p

    def decode_binds(self, types, raw, V):
        if len(raw) != len(types):
            raise CQLError(0x2200, f"There were {len(types)} markers(?) in CQL but {len(raw)} bound variables")
        out = []
        for (name, t), b in zip(types, raw):
            if b is None: out.append(None); continue
            try:
                out.append(plain(W.casstype(t).deserialize(b, V)))
            except Exception as e:
                raise CQLError(0x2200, f"Invalid value for {name} of type {t}: {e}")
        return out

    def run_query(self, q, params, V):
        ql = " ".join(q.split()).lower()
        log(f"[{self.name}] QUERY {q!r}")
        if ql.startswith("delete from system.prepared_statements"):
            ENGINE.prepared.clear(); return W.OP["RESULT"], W.body_result_void()
        hook = hook_query(q, V)
        if hook is not None: return W.OP["RESULT"], hook
        sysbody = system_query(self.addr, ql, V)
        if sysbody is not None: return W.OP["RESULT"], sysbody
        stmt = cqlparse.parse(q)
        ks = params.get("keyspace") or self.keyspace
        types, _ = ENGINE.bind_types(stmt, ks)
        binds = self.decode_binds(types, params["values"], V) if params["values"] or types else []
        res = ENGINE.execute(stmt, ks, binds, params["page_size"], params["paging_state"])
        if res[0] == "keyspace": self.keyspace = res[1]
        return W.OP["RESULT"], result_body(res, V)

    def prepare(self, q, ks, V):
        log(f"[{self.name}] PREPARE {q!r}")
        qid = hashlib.md5((q + "\x00" + (ks or "")).encode()).digest()
        ql = " ".join(q.split()).lower()
        if "system." in ql:
            stmt = {"kind": "system", "text": q}; bind, pk, cols = [], [], []
        else:
            stmt = cqlparse.parse(q)
            bind, pk = ENGINE.bind_types(stmt, ks)
            cols = ENGINE.result_columns(stmt, ks) or []
        ENGINE.prepared[qid] = {"query": q, "ks": ks, "stmt": stmt}
        tbl_ks = stmt.get("ks") or ks or ""
        return W.OP["RESULT"], W.body_result_prepared(qid, V, tbl_ks, stmt.get("table", ""), bind, pk, cols, metadata_id(cols))

    def execute(self, qid, rmid, params, V):
        p = ENGINE.prepared.get(qid)
        if p is None:
            return W.OP["ERROR"], W.body_error(0x2500, f"Prepared query with ID {qid.hex()} not found", V, id=qid)
        stmt = p["stmt"]
        if stmt["kind"] == "system":
            return self.run_query(p["query"], params, V)
        ks = p["ks"]
        types, _ = ENGINE.bind_types(stmt, ks)
        cols = ENGINE.result_columns(stmt, ks) or []
        binds = self.decode_binds(types, params["values"], V)
        res = ENGINE.execute(stmt, ks, binds, params["page_size"], params["paging_state"])
        new_id = None
        if V >= 5 and res[0] == "rows" and rmid is not None and rmid != metadata_id(cols) and stmt["kind"] == "select":
            new_id = metadata_id(cols)
        return W.OP["RESULT"], result_body(res, V, skip_metadata=params["skip_metadata"] and res[0] == "rows" and stmt["kind"] == "select",
                                           new_metadata_id=new_id)

    def batch(self, f, V):
        btype = read_byte(f); n = read_short(f)
        items = []
        for _ in range(n):
            kind = read_byte(f)
            if kind == 0: items.append(("q", read_longstring(f)))
            else: items.append(("p", f.read(read_short(f))))
            vals = []
            for _ in range(read_short(f)):
                ln = read_int(f); vals.append(None if ln < 0 else f.read(ln))
            items[-1] += (vals,)
        consistency = read_short(f)
        fault = self.fault(consistency, V)
        if fault: return fault
        fl = uint32_unpack(f.read(4)) if V >= 5 else read_byte(f)
        if fl & 0x10: read_short(f)
        if fl & 0x20: f.read(8)
        ks = read_string(f) if fl & 0x80 else self.keyspace
        plan = []
        for kind, x, vals in items:
            if kind == "q":
                stmt = cqlparse.parse(x); sks = ks
            else:
                p = ENGINE.prepared.get(x)
                if p is None: return W.OP["ERROR"], W.body_error(0x2500, f"Prepared query with ID {x.hex()} not found", V, id=x)
                stmt, sks = p["stmt"], p["ks"]
            if stmt["kind"] not in ("insert", "update", "delete"):
                raise CQLError(0x2200, "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.")
            types, _ = ENGINE.bind_types(stmt, sks)
            plan.append((stmt, sks, self.decode_binds(types, vals, V)))
        for stmt, sks, binds in plan: ENGINE.execute(stmt, sks, binds)
        return W.OP["RESULT"], W.body_result_void()

    async def serve(self):
        buf = b""
        CONNECTIONS.add(self)
        try:
            while True:
                data = await self.reader.read(1 << 16)
                if not data: break
                buf += data
                while True:
                    if self.segments:
                        codec = self.seg_codec()
                        hl = codec.header_length_with_crc
                        if len(buf) < hl: break
                        hdr = codec.decode_header(io.BytesIO(buf[:hl]))
                        total = hl + hdr.payload_length + 4
                        if len(buf) < total: break
                        seg = codec.decode(io.BytesIO(buf[hl:total]), hdr); buf = buf[total:]
                        self.pending = getattr(self, "pending", b"") + seg.payload
                        frames = []
                        while len(self.pending) >= 9:
                            ln = struct.unpack(">i", self.pending[5:9])[0]
                            if len(self.pending) < 9 + ln: break
                            frames.append(self.pending[:9 + ln]); self.pending = self.pending[9 + ln:]
                    else:
                        if len(buf) < 9: break
                        ln = struct.unpack(">i", buf[5:9])[0]
                        if len(buf) < 9 + ln: break
                        frames, buf = [buf[:9 + ln]], buf[9 + ln:]
                    for fr in frames:
                        self.dispatch(fr)
                await self.writer.drain()
        except Exception as e:
            log(f"[{self.name}] error {e!r}")
        finally:
            CONNECTIONS.discard(self)
            self.writer.close()

    def seg_codec(self):
        from cassandra.connection import segment_codec_lz4
        return segment_codec_lz4 if self.compression == "lz4" else self.codec

    def dispatch(self, fr):
        ver, flags, stream, op, ln = struct.unpack(">BBhBi", fr[:9])
        body = fr[9:]
        V = ver & 0x7F
        if V > args.max_version or V < 4:
            self.writer.write(W.frame(min(args.max_version, 4 if V < 4 else args.max_version), stream, W.OP["ERROR"], W.body_error(
                0x000A, f"Invalid or unsupported protocol version ({V}); supported versions are (3/v3, 4/v4{', 5/v5' if args.max_version >= 5 else ''})")))
            return
        if flags & 0x01 and self.compression and not self.segments:
            from cassandra.connection import locally_supported_compressions as LSC
            body = LSC[self.compression][1](body)
        self.delay = None
        rop, rbody = self.handle(V, flags, stream, op, body)
        if self.delay:
            def late(V=V, stream=stream, rop=rop, rbody=rbody):
                try:
                    if not self.writer.is_closing(): self.send_frame(V, stream, rop, rbody)
                except Exception: pass
            asyncio.get_running_loop().call_later(self.delay, late)
            return
        self.send_frame(V, stream, rop, rbody)
        if op == W.OP["STARTUP"] and rop in (W.OP["READY"], W.OP["AUTHENTICATE"]):
            self.startup_done = True
            if V >= 5: self.segments = True


def on_schema(change, target, ks, name):
    for c in list(CONNECTIONS):
        try: c.event(change, target, ks, name)
        except Exception: pass


ENGINE.listeners.append(on_schema)


async def main():
    servers = []
    tls = None
    if args.tls:
        crt, key = ensure_certs(args.tls)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(crt, key)
    for addr in ADDRS:
        srv = await asyncio.start_server(lambda r, w, a=addr: Conn(r, w, a).serve(), addr, args.port, ssl=tls)
        if args.port == 0: args.port = srv.sockets[0].getsockname()[1]  # single node: report the chosen port
        servers.append(srv)
    print(f"CQL test node on {','.join(ADDRS)}:{args.port} (max v{args.max_version}{', TLS' if tls else ''})", flush=True)
    print(f"PORT {args.port}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
