"""In-memory storage engine of the CQL test node: keyspaces, tables, UDTs, rows; executes parsed
statements. Values are kept as the Python objects the DataStax driver's serializers accept."""
import datetime, decimal, hashlib, ipaddress, struct, uuid
from cassandra import cqltypes as T
from cassandra.util import Date, Time, Duration, OrderedMapSerializedKey
import cqlparse


class CQLError(Exception):
    def __init__(self, code, message, **extra):
        super().__init__(message); self.code = code; self.message = message; self.extra = extra


def invalid(msg): return CQLError(0x2200, msg)


class Table:
    def __init__(self, ks, name, cols, pk, ck, order):
        self.ks, self.name = ks, name
        self.cols = dict(cols)            # name -> resolved type
        self.col_order = [c for c, _ in cols]
        self.pk, self.ck, self.order = pk, ck, order
        self.partitions = {}              # pk tuple -> {ck tuple -> row dict}

    def star_columns(self):
        rest = sorted(c for c in self.col_order if c not in self.pk and c not in self.ck)
        return self.pk + self.ck + rest


def sort_key(t, v):
    if v is None: return (0,)
    k = t if isinstance(t, str) else t[0]
    if k == "timeuuid": return (1, v.time, v.bytes)
    if k == "uuid": return (1, v.bytes)
    if k == "inet": return (1, ipaddress.ip_address(v).packed)
    if k == "date": return (1, v.days_from_epoch if isinstance(v, Date) else v.toordinal())
    if k == "time": return (1, v.nanosecond_time if isinstance(v, Time) else v)
    if k in ("list", "set", "tuple", "vector"): return (1, tuple(sort_key(t[1] if k != "tuple" else t[i + 1], x) for i, x in enumerate(v)))
    if k == "blob": return (1, bytes(v))
    return (1, v)


class Engine:
    def __init__(self):
        self.keyspaces = {"system": {"tables": {}, "types": {}}}
        self.prepared = {}   # id -> dict
        self.listeners = []  # callables(change, target, ks, name)

    # ---- schema helpers ----
    def ks(self, name):
        if name not in self.keyspaces: raise invalid(f"Keyspace '{name}' does not exist")
        return self.keyspaces[name]

    def table(self, ks, name):
        if ks is None: raise invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        k = self.ks(ks)
        if name not in k["tables"]: raise invalid(f"unconfigured table {name}")
        return k["tables"][name]

    def resolve(self, t, ks):
        if isinstance(t, str): return t
        if t[0] == "udtref":
            kname = t[1] or ks
            types = self.ks(kname)["types"]
            if t[2] not in types: raise invalid(f"Unknown type {kname}.{t[2]}")
            return ("udt", kname, t[2], types[t[2]])
        if t[0] in ("list", "set"): return (t[0], self.resolve(t[1], ks))
        if t[0] == "map": return ("map", self.resolve(t[1], ks), self.resolve(t[2], ks))
        if t[0] == "tuple": return ("tuple",) + tuple(self.resolve(s, ks) for s in t[1:])
        if t[0] == "vector": return ("vector", self.resolve(t[1], ks), t[2])
        return t

    def notify(self, change, target, ks, name=None):
        for listener in list(self.listeners): listener(change, target, ks, name)

    # ---- literal / bind value conversion ----
    def value(self, term, t, binds):
        kind = term[0]
        if kind == "bind":
            return binds[term[1]]
        if kind == "null": return None
        k = t if isinstance(t, str) else t[0]
        try:
            if kind == "lit":
                if k in ("text", "ascii"): return term[1]
                if k == "inet": return term[1]
                if k == "timestamp": return datetime.datetime.fromisoformat(term[1].replace("Z", "+00:00")).replace(tzinfo=None)
                if k == "date": return Date(datetime.date.fromisoformat(term[1]))
                if k == "time": return Time(term[1])
                raise invalid(f"Invalid STRING constant ({term[1]}) for {k}")
            if kind == "num":
                s = term[1]
                if k in ("int", "bigint", "smallint", "tinyint", "varint", "counter", "timestamp"): return int(s)
                if k in ("float", "double"): return float(s)
                if k == "decimal": return decimal.Decimal(s)
                raise invalid(f"Invalid numeric constant ({s}) for {k}")
            if kind == "uuid": return uuid.UUID(term[1])
            if kind == "blob": return bytes.fromhex(term[1])
            if kind == "bool": return term[1]
            if kind == "fn":
                if term[1] == "now": return uuid.uuid1()
                if term[1] == "uuid": return uuid.uuid4()
                if term[1] in ("currenttimestamp", "totimestamp"): return datetime.datetime.utcnow()
            if kind == "list":
                if k == "set": return sorted({self.value(x, t[1], binds) for x in term[1]}, key=lambda v: sort_key(t[1], v))
                return [self.value(x, t[1], binds) for x in term[1]]
            if kind == "set": return sorted({self.value(x, t[1], binds) for x in term[1]}, key=lambda v: sort_key(t[1], v))
            if kind == "emptymap": return {} if k == "map" else []
            if kind == "map": return {self.value(a, t[1], binds): self.value(b, t[2], binds) for a, b in term[1]}
            if kind == "tuple": return tuple(self.value(x, s, binds) for x, s in zip(term[1], t[1:]))
            if kind == "udt":
                fields = dict(term[1])
                return tuple(self.value(fields[n], s, binds) if n in fields else None for n, s in t[3])
        except CQLError: raise
        except Exception as e:
            raise invalid(f"Invalid value for {k}: {e}")
        raise invalid(f"unsupported term {term}")

    def bind_types(self, stmt, keyspace):
        """[(name, type)] for each bind marker in order, plus partition key indexes."""
        kind = stmt["kind"]
        out = [None] * stmt.get("bind_count", 0)
        if kind == "batch": return [], []
        if kind in ("select", "insert", "update", "delete"):
            tbl = self.table(stmt["ks"] or keyspace, stmt["table"])
            def put(term, name, t):
                if term[0] == "bind": out[term[1]] = (term[2] or name, t)
                elif term[0] in ("list", "set", "tuple"):
                    sub = t[1:] if t[0] == "tuple" else [t[1]] * len(term[1])
                    for x, s in zip(term[1], sub): put(x, name, s)
                elif term[0] == "map":
                    for a, b in term[1]: put(a, name, t[1]); put(b, name, t[2])
                elif term[0] == "udt":
                    fields = dict(t[3])
                    for n, x in term[1]: put(x, n, fields[n])
            if kind == "insert":
                for c, v in zip(stmt["cols"], stmt["vals"]): put(v, c, self.coltype(tbl, c))
            if kind == "update":
                for col, op, key, v in stmt["assigns"]:
                    t = self.coltype(tbl, col)
                    if op == "elem":
                        put(key, "key(" + col + ")", t[1] if t[0] == "map" else "int")
                        put(v, "value(" + col + ")", t[2] if t[0] == "map" else t[1])
                    elif op in ("add", "sub", "prepend") and t != "counter" and not isinstance(t, str) and t[0] == "map" and op == "sub":
                        put(v, col, ("set", t[1]))
                    else:
                        put(v, col, t)
            if kind == "delete":
                for col, key in stmt["targets"]:
                    if key is not None:
                        t = self.coltype(tbl, col); put(key, "key(" + col + ")", t[1] if t[0] == "map" else "int")
            for col, op, v in stmt.get("where", []):
                t = self.coltype(tbl, col)
                if op == "in":
                    for x in v: put(x, col, t)
                else:
                    put(v, col, t)
            if isinstance(stmt.get("if"), list):
                for col, op, v in stmt["if"]: put(v, col, self.coltype(tbl, col))
            if kind == "select" and stmt.get("limit") is not None: put(stmt["limit"], "[limit]", "int")
            pk_idx = []
            eq = {}
            for col, op, v in stmt.get("where", []):
                if op == "=" and v[0] == "bind": eq[col] = v[1]
            if kind == "insert":
                for c, v in zip(stmt["cols"], stmt["vals"]):
                    if v[0] == "bind": eq[c] = v[1]
            if all(c in eq for c in tbl.pk): pk_idx = [eq[c] for c in tbl.pk]
            return [(o if o else ("?", "blob")) for o in out], pk_idx
        return [(o if o else ("?", "blob")) for o in out], []

    def coltype(self, tbl, col):
        if col not in tbl.cols: raise invalid(f"Undefined column name {col}")
        return tbl.cols[col]

    def result_columns(self, stmt, keyspace):
        if stmt["kind"] != "select": 
            if stmt["kind"] in ("insert", "update", "delete") and stmt.get("if"):
                return [("[applied]", "boolean")]
            return []
        if stmt["ks"] == "system" or (stmt["ks"] or keyspace or "").startswith("system"): return None
        tbl = self.table(stmt["ks"] or keyspace, stmt["table"])
        if stmt["cols"] is None: return [(c, tbl.cols[c]) for c in tbl.star_columns()]
        out = []
        for c in stmt["cols"]:
            if c[0] == "count": out.append(("count", "bigint"))
            else: out.append((c[2] or c[1], self.coltype(tbl, c[1])))
        return out

    # ---- execution ----
    def execute(self, stmt, keyspace, binds, page_size=None, paging_state=None):
        """Returns ('void',) | ('rows', ks, table, cols, rows, next_state) | ('keyspace', ks) | ('schema', change, target, ks, name)."""
        k = stmt["kind"]
        fn = getattr(self, "do_" + k, None)
        if fn is None: raise invalid(f"unsupported statement {k}")
        return fn(stmt, keyspace, binds, page_size, paging_state)

    def do_use(self, stmt, keyspace, binds, *a):
        self.ks(stmt["keyspace"]); return ("keyspace", stmt["keyspace"])

    def do_create_keyspace(self, stmt, keyspace, binds, *a):
        if stmt["name"] in self.keyspaces:
            if stmt["if_not_exists"]: return ("void",)
            raise CQLError(0x2400, f"Keyspace {stmt['name']} already exists", ks=stmt["name"], table="")
        self.keyspaces[stmt["name"]] = {"tables": {}, "types": {}}
        self.notify("CREATED", "KEYSPACE", stmt["name"])
        return ("schema", "CREATED", "KEYSPACE", stmt["name"], None)

    def do_drop_keyspace(self, stmt, keyspace, binds, *a):
        if stmt["name"] not in self.keyspaces:
            if stmt["if_exists"]: return ("void",)
            raise CQLError(0x2300, f"Cannot drop non existing keyspace '{stmt['name']}'.")
        del self.keyspaces[stmt["name"]]
        self.notify("DROPPED", "KEYSPACE", stmt["name"])
        return ("schema", "DROPPED", "KEYSPACE", stmt["name"], None)

    def do_create_type(self, stmt, keyspace, binds, *a):
        ks = stmt["ks"] or keyspace
        types = self.ks(ks)["types"]
        if stmt["name"] in types:
            if stmt["if_not_exists"]: return ("void",)
            raise CQLError(0x2200, f"A user type with name '{stmt['name']}' already exists")
        types[stmt["name"]] = [(n, self.resolve(t, ks)) for n, t in stmt["fields"]]
        self.notify("CREATED", "TYPE", ks, stmt["name"])
        return ("schema", "CREATED", "TYPE", ks, stmt["name"])

    def do_create_table(self, stmt, keyspace, binds, *a):
        ks = stmt["ks"] or keyspace
        if ks is None: raise invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        tables = self.ks(ks)["tables"]
        if stmt["name"] in tables:
            if stmt["if_not_exists"]: return ("void",)
            raise CQLError(0x2400, f"Table {ks}.{stmt['name']} already exists", ks=ks, table=stmt["name"])
        if not stmt["pk"]: raise invalid("No PRIMARY KEY specifed for table")
        cols = [(c, self.resolve(t, ks)) for c, t in stmt["cols"]]
        tables[stmt["name"]] = Table(ks, stmt["name"], cols, stmt["pk"], stmt["ck"], stmt["order"])
        self.notify("CREATED", "TABLE", ks, stmt["name"])
        return ("schema", "CREATED", "TABLE", ks, stmt["name"])

    def do_drop_table(self, stmt, keyspace, binds, *a):
        ks = stmt["ks"] or keyspace
        tables = self.ks(ks)["tables"]
        if stmt["name"] not in tables:
            if stmt["if_exists"]: return ("void",)
            raise invalid(f"Table '{ks}.{stmt['name']}' doesn't exist")
        del tables[stmt["name"]]
        self.notify("DROPPED", "TABLE", ks, stmt["name"])
        return ("schema", "DROPPED", "TABLE", ks, stmt["name"])

    def do_drop_type(self, stmt, keyspace, binds, *a):
        ks = stmt["ks"] or keyspace
        types = self.ks(ks)["types"]
        if stmt["name"] not in types:
            if stmt["if_exists"]: return ("void",)
            raise invalid(f"No user type named {stmt['name']} exists.")
        del types[stmt["name"]]
        self.notify("DROPPED", "TYPE", ks, stmt["name"])
        return ("schema", "DROPPED", "TYPE", ks, stmt["name"])

    def do_alter_add(self, stmt, keyspace, binds, *a):
        ks = stmt["ks"] or keyspace
        tbl = self.table(ks, stmt["name"])
        if stmt["col"] in tbl.cols: raise invalid(f"Column with name '{stmt['col']}' already exists")
        tbl.cols[stmt["col"]] = self.resolve(stmt["type"], ks); tbl.col_order.append(stmt["col"])
        self.notify("UPDATED", "TABLE", ks, stmt["name"])
        return ("schema", "UPDATED", "TABLE", ks, stmt["name"])

    def do_truncate(self, stmt, keyspace, binds, *a):
        self.table(stmt["ks"] or keyspace, stmt["table"]).partitions.clear(); return ("void",)

    def _keys(self, tbl, where, binds, need_full_ck):
        eq = {}
        for col, op, v in where:
            if op == "=": eq[col] = self.value(v, self.coltype(tbl, col), binds)
        for c in tbl.pk:
            if c not in eq: raise invalid(f"Some partition key parts are missing: {c}")
            if eq[c] is None: raise invalid(f"Invalid null value for partition key part {c}")
        pk = tuple(eq[c] for c in tbl.pk)
        if need_full_ck:
            for c in tbl.ck:
                if c not in eq: raise invalid(f"Some clustering keys are missing: {c}")
            return pk, tuple(eq[c] for c in tbl.ck)
        return pk, None

    def _conditions_hold(self, tbl, row, cond, binds):
        if cond == "exists": return row is not None
        if row is None: return False
        for col, op, v in cond:
            cur = row.get(col); want = self.value(v, self.coltype(tbl, col), binds)
            if op == "=" and cur != want: return False
            if op == "!=" and cur == want: return False
        return True

    def _lwt(self, tbl, applied, row):
        if applied or row is None: return ("rows", tbl.ks, tbl.name, [("[applied]", "boolean")], [[applied]], None)
        cols = [("[applied]", "boolean")] + [(c, tbl.cols[c]) for c in tbl.star_columns()]
        return ("rows", tbl.ks, tbl.name, cols, [[applied] + [row.get(c) for c in tbl.star_columns()]], None)

    def do_insert(self, stmt, keyspace, binds, *a):
        tbl = self.table(stmt["ks"] or keyspace, stmt["table"])
        vals = {c: self.value(v, self.coltype(tbl, c), binds) for c, v in zip(stmt["cols"], stmt["vals"])}
        for c in tbl.pk + tbl.ck:
            if vals.get(c) is None: raise invalid(f"Invalid null value in condition for column {c}" if c in vals else f"Some partition key parts are missing: {c}")
        pk = tuple(vals[c] for c in tbl.pk); ck = tuple(vals[c] for c in tbl.ck)
        part = tbl.partitions.setdefault(pk, {})
        existing = part.get(ck)
        if stmt["if_not_exists"]:
            if existing is not None: return self._lwt(tbl, False, existing)
        row = dict(existing or {}); row.update(vals)
        part[ck] = row
        return self._lwt(tbl, True, None) if stmt["if_not_exists"] else ("void",)

    def do_update(self, stmt, keyspace, binds, *a):
        tbl = self.table(stmt["ks"] or keyspace, stmt["table"])
        pk, ck = self._keys(tbl, stmt["where"], binds, True)
        part = tbl.partitions.get(pk, {})
        existing = part.get(ck)
        if stmt["if"] is not None and not self._conditions_hold(tbl, existing, stmt["if"], binds):
            return self._lwt(tbl, False, existing)
        row = dict(existing) if existing else {c: v for c, v in zip(tbl.pk + tbl.ck, pk + ck)}
        for col, op, key, v in stmt["assigns"]:
            t = self.coltype(tbl, col)
            if col in tbl.pk or col in tbl.ck: raise invalid(f"PRIMARY KEY part {col} found in SET part")
            if op == "set":
                row[col] = self.value(v, t, binds)
            elif op == "elem":
                if t[0] != "map": raise invalid(f"Invalid operation for non-map column {col}")
                m = dict(row.get(col) or {})
                kv = self.value(key, t[1], binds); vv = self.value(v, t[2], binds)
                if vv is None: m.pop(kv, None)
                else: m[kv] = vv
                row[col] = dict(sorted(m.items(), key=lambda e: sort_key(t[1], e[0]))) or None
            elif op in ("add", "sub"):
                if t == "counter":
                    d = self.value(v, "bigint", binds); row[col] = (row.get(col) or 0) + (d if op == "add" else -d)
                elif t[0] == "list":
                    items = self.value(v, t, binds) or []
                    cur = list(row.get(col) or [])
                    row[col] = (cur + items if op == "add" else [x for x in cur if x not in items]) or None
                elif t[0] == "set":
                    items = self.value(v, t, binds) or []
                    cur = set(row.get(col) or [])
                    cur = cur | set(items) if op == "add" else cur - set(items)
                    row[col] = sorted(cur, key=lambda x: sort_key(t[1], x)) or None
                elif t[0] == "map":
                    cur = dict(row.get(col) or {})
                    if op == "add": cur.update(self.value(v, t, binds) or {})
                    else:
                        for x in self.value(v, ("set", t[1]), binds) or []: cur.pop(x, None)
                    row[col] = dict(sorted(cur.items(), key=lambda e: sort_key(t[1], e[0]))) or None
            elif op == "prepend":
                row[col] = (self.value(v, t, binds) or []) + list(row.get(col) or [])
        tbl.partitions.setdefault(pk, {})[ck] = row
        return self._lwt(tbl, True, None) if stmt["if"] is not None else ("void",)

    def do_delete(self, stmt, keyspace, binds, *a):
        tbl = self.table(stmt["ks"] or keyspace, stmt["table"])
        full = bool(stmt["targets"]) or all(any(c == w[0] for w in stmt["where"]) for c in tbl.ck)
        pk, ck = self._keys(tbl, stmt["where"], binds, full and bool(tbl.ck))
        part = tbl.partitions.get(pk)
        existing = part.get(ck if ck is not None else ()) if part else None
        if stmt["if"] is not None and not self._conditions_hold(tbl, existing, stmt["if"], binds):
            return self._lwt(tbl, False, existing)
        if part is not None:
            if not stmt["targets"]:
                if ck is None and tbl.ck:
                    rows = [k for k in part if self._matches(tbl, dict(zip(tbl.ck, k)), stmt["where"], binds)]
                    for k in rows: del part[k]
                else:
                    part.pop(ck if ck is not None else (), None)
                if not part: tbl.partitions.pop(pk, None)
            elif existing is not None:
                for col, key in stmt["targets"]:
                    t = self.coltype(tbl, col)
                    if key is None: existing.pop(col, None)
                    elif t[0] == "map":
                        m = dict(existing.get(col) or {}); m.pop(self.value(key, t[1], binds), None); existing[col] = m or None
                    elif t[0] == "list":
                        l = list(existing.get(col) or []); i = self.value(key, "int", binds)
                        if 0 <= i < len(l): l.pop(i)
                        existing[col] = l or None
        return self._lwt(tbl, True, None) if stmt["if"] is not None else ("void",)

    def _matches(self, tbl, row, where, binds):
        for col, op, v in where:
            if col in tbl.pk: continue
            t = self.coltype(tbl, col)
            cur = row.get(col)
            if op == "in":
                if cur not in [self.value(x, t, binds) for x in v]: return False
                continue
            want = self.value(v, t, binds)
            if cur is None: return False
            a, b = sort_key(t, cur), sort_key(t, want)
            if op == "=" and not a == b: return False
            if op == "<" and not a < b: return False
            if op == "<=" and not a <= b: return False
            if op == ">" and not a > b: return False
            if op == ">=" and not a >= b: return False
        return True

    def _ordered_rows(self, tbl, part, reverse):
        keys = list(part.keys())
        for i in reversed(range(len(tbl.ck))):
            c = tbl.ck[i]; t = tbl.cols[c]
            keys.sort(key=lambda k: sort_key(t, k[i]), reverse=(tbl.order.get(c, "asc") == "desc"))
        if reverse: keys.reverse()
        return [part[k] for k in keys]

    def do_select(self, stmt, keyspace, binds, page_size=None, paging_state=None):
        ks = stmt["ks"] or keyspace
        tbl = self.table(ks, stmt["table"])
        cols = self.result_columns(stmt, keyspace)
        reverse = False
        if stmt["order"]:
            c, d = stmt["order"][0]
            if c not in tbl.ck: raise invalid(f"Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {c}")
            natural = tbl.order.get(c, "asc")
            reverse = d != natural
        pk_conds = [w for w in stmt["where"] if w[0] in tbl.pk]
        if pk_conds:
            keys = [[]]
            for c in tbl.pk:
                conds = [w for w in pk_conds if w[0] == c]
                if not conds: raise invalid(f"Cannot execute this query as it might involve data filtering: missing {c}")
                col, op, v = conds[0]
                vals = [self.value(x, tbl.cols[c], binds) for x in v] if op == "in" else [self.value(v, tbl.cols[c], binds)]
                keys = [k + [x] for k in keys for x in vals]
            parts = [tbl.partitions.get(tuple(k)) for k in keys]
            parts = [p for p in parts if p]
        else:
            parts = list(tbl.partitions.values())
        rows = []
        for part in parts:
            rows += [r for r in self._ordered_rows(tbl, part, reverse) if self._matches(tbl, r, stmt["where"], binds)]
        if stmt["cols"] and stmt["cols"][0][0] == "count":
            return ("rows", ks, tbl.name, cols, [[len(rows)]], None)
        if stmt["limit"] is not None:
            rows = rows[: self.value(stmt["limit"], "int", binds)]
        names = tbl.star_columns() if stmt["cols"] is None else [c[1] for c in stmt["cols"]]
        out = [[r.get(n) for n in names] for r in rows]
        start = struct.unpack(">I", paging_state[:4])[0] if paging_state else 0
        nxt = None
        if page_size and page_size > 0:
            end = start + page_size
            if end < len(out): nxt = struct.pack(">I", end) + hashlib.md5(repr(stmt).encode()).digest()[:4]
            out = out[start:end]
        return ("rows", ks, tbl.name, cols, out, nxt)

    def do_batch(self, stmt, keyspace, binds, *a):
        for s in stmt["stmts"]:
            self.execute(s, keyspace, binds)
        return ("void",)
