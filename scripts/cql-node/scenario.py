#!/usr/bin/env python3
"""Runs scenario.json through the DataStax Python driver against a CQL node and prints the results
as JSON (one entry per step). Usage: scenario.py HOST PORT KEYSPACE [protocol_version]"""
import datetime, json, os, sys, uuid
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracles", "cql"))
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import RoundRobinPolicy
from cassandra.query import SimpleStatement, BatchStatement
from cassandra import InvalidRequest
import oracle as O

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pv = int(sys.argv[4]) if len(sys.argv) > 4 else None
steps = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario.json")))["steps"]


def value(pair):
    t, v = pair
    if t in ("bigint", "int"): return int(v)
    if t == "timestamp": return datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(v))
    if t == "uuid": return uuid.UUID(v)
    if t == "boolean": return bool(v)
    return v


def summarize(rs, pages=1):
    if not rs.column_names: return {"rows": None}
    types = [O.py_type(t) for t in rs.column_types]
    return {"columns": list(rs.column_names), "rows": [[O.jv(t, v) for t, v in zip(types, row)] for row in rows_of(rs)], "pages": pages}


def rows_of(rs):
    return rs.all_rows if hasattr(rs, "all_rows") else list(rs)


kw = dict(contact_points=[host], port=port, connect_timeout=10, schema_metadata_enabled=False, token_metadata_enabled=False,
          execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=10)})
if pv: kw["protocol_version"] = pv
cluster = Cluster(**kw)
s = cluster.connect()
out = []
for step in steps:
    try:
        if "batch" in step:
            b = BatchStatement()
            for item in step["batch"]:
                b.add(s.prepare(item["cql"].replace("KS", ks)), [value(p) for p in item.get("values", [])])
            s.execute(b); out.append({"rows": None}); continue
        cql = step["cql"].replace("KS", ks)
        vals = [value(p) for p in step.get("values", [])]
        if step.get("page_size"):
            rs = s.execute(s.prepare(cql).bind(vals) if step.get("prepared") else SimpleStatement(cql, fetch_size=step["page_size"]),
                           timeout=10) if not step.get("prepared") else None
            if step.get("prepared"):
                st = s.prepare(cql); st.fetch_size = step["page_size"]
                rs = s.execute(st, vals)
            types = [O.py_type(t) for t in rs.column_types]
            rows, pages = [], 1
            rows += [[O.jv(t, v) for t, v in zip(types, r)] for r in rs.current_rows]
            while rs.has_more_pages:
                rs.fetch_next_page(); pages += 1
                rows += [[O.jv(t, v) for t, v in zip(types, r)] for r in rs.current_rows]
            out.append({"columns": list(rs.column_names), "rows": rows, "pages": pages}); continue
        rs = s.execute(s.prepare(cql), vals) if step.get("prepared") else s.execute(cql)
        out.append(summarize(rs))
    except Exception as e:
        if not step.get("expect_error"): raise
        codes = {"InvalidRequest": 0x2200, "SyntaxException": 0x2000, "AlreadyExists": 0x2400, "ConfigurationException": 0x2300}
        out.append({"error": codes.get(type(e).__name__, getattr(e, "code", None))})
cluster.shutdown()
print(json.dumps(out))
