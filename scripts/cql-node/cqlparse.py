"""A small CQL parser for the project's CQL test node: the statements a chat schema needs."""
import re

KEYWORDS = set("""select from where and insert into values update set delete use create drop alter table keyspace type if not exists
with primary key order by asc desc limit allow filtering in begin apply batch unlogged logged counter using ttl timestamp frozen
clustering add as count true false null""".split())


class CQLSyntaxError(Exception):
    pass


TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|//[^\n]*) |
    (?P<string>'(?:[^']|'')*') |
    (?P<qident>"(?:[^"]|"")*") |
    (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}) |
    (?P<blob>0[xX][0-9a-fA-F]*) |
    (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|-?NaN|-?Infinity) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_]*) |
    (?P<named>:[A-Za-z_][A-Za-z0-9_]*) |
    (?P<op><=|>=|!=|[=<>(),;.*?\[\]{}:+\-])
""", re.X)


def tokenize(text):
    out = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m: raise CQLSyntaxError(f"line 1:{pos} unexpected character {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws": continue
        val = m.group()
        if kind == "string": val = val[1:-1].replace("''", "'")
        elif kind == "qident": val = val[1:-1].replace('""', '"')
        out.append((kind, val))
    out.append(("eof", ""))
    return out


class Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0
        self.bind_count = 0

    def peek(self, k=0): return self.toks[self.i + k]

    def next(self):
        t = self.toks[self.i]; self.i += 1; return t

    def kw(self, *words):
        t = self.peek()
        return t[0] == "ident" and t[1].lower() in words

    def accept_kw(self, *words):
        if self.kw(*words): self.i += 1; return True
        return False

    def expect_kw(self, word):
        if not self.accept_kw(word): raise CQLSyntaxError(f"line 1:0 mismatched input {self.peek()[1]!r} expecting {word.upper()}")

    def accept(self, op):
        t = self.peek()
        if t[0] == "op" and t[1] == op: self.i += 1; return True
        return False

    def expect(self, op):
        if not self.accept(op): raise CQLSyntaxError(f"line 1:0 mismatched input {self.peek()[1]!r} expecting {op!r}")

    def ident(self):
        t = self.next()
        if t[0] == "ident": return t[1].lower()
        if t[0] == "qident": return t[1]
        raise CQLSyntaxError(f"line 1:0 no viable alternative at input {t[1]!r}")

    def qualified(self):
        a = self.ident()
        if self.accept("."): return (a, self.ident())
        return (None, a)

    # ---- types ----
    def cql_type(self):
        name = self.ident()
        if name == "frozen":
            self.expect("<"); t = self.cql_type(); self.expect(">"); return t
        if name in ("list", "set"):
            self.expect("<"); t = self.cql_type(); self.expect(">"); return (name, t)
        if name == "map":
            self.expect("<"); k = self.cql_type(); self.expect(","); v = self.cql_type(); self.expect(">"); return ("map", k, v)
        if name == "tuple":
            self.expect("<"); ts = [self.cql_type()]
            while self.accept(","): ts.append(self.cql_type())
            self.expect(">"); return ("tuple",) + tuple(ts)
        if name == "vector":
            self.expect("<"); t = self.cql_type(); self.expect(","); n = int(self.next()[1]); self.expect(">"); return ("vector", t, n)
        if name == "varchar": return "text"
        simple = {"ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "duration", "float", "inet", "int",
                  "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varint"}
        if name in simple: return name
        if self.accept("."): return ("udtref", name, self.ident())
        return ("udtref", None, name)

    # ---- terms ----
    def term(self):
        t = self.peek()
        if t[0] == "op" and t[1] == "?":
            self.i += 1; idx = self.bind_count; self.bind_count += 1; return ("bind", idx, None)
        if t[0] == "named":
            self.i += 1; idx = self.bind_count; self.bind_count += 1; return ("bind", idx, t[1][1:].lower())
        if t[0] == "string": self.i += 1; return ("lit", t[1])
        if t[0] == "number": self.i += 1; return ("num", t[1])
        if t[0] == "uuid": self.i += 1; return ("uuid", t[1])
        if t[0] == "blob": self.i += 1; return ("blob", t[1][2:])
        if t[0] == "ident" and t[1].lower() in ("true", "false"): self.i += 1; return ("bool", t[1].lower() == "true")
        if t[0] == "ident" and t[1].lower() == "null": self.i += 1; return ("null",)
        if t[0] == "ident" and t[1].lower() in ("now", "uuid", "totimestamp", "currenttimestamp") and self.peek(1) == ("op", "("):
            name = t[1].lower(); self.i += 2
            args = [] if self.accept(")") else [self.term()]
            if args: self.expect(")")
            return ("fn", name, args)
        if self.accept("["):
            items = [] if self.accept("]") else self._items("]")
            return ("list", items)
        if self.accept("{"):
            if self.accept("}"): return ("emptymap",)
            first = self.term()
            if self.accept(":"):
                entries = [(first, self.term())]
                while self.accept(","):
                    k = self.term(); self.expect(":"); entries.append((k, self.term()))
                self.expect("}")
                return ("map", entries)
            items = [first]
            while self.accept(","): items.append(self.term())
            self.expect("}")
            return ("set", items)
        if self.accept("("):
            items = self._items(")")
            return ("tuple", items)
        raise CQLSyntaxError(f"line 1:0 no viable alternative at input {t[1]!r}")

    def _items(self, close):
        items = [self.term()]
        while self.accept(","): items.append(self.term())
        self.expect(close)
        return items

    def udt_literal_or_term(self):
        # {field: value, ...} for UDTs parses as a map with identifier keys
        if self.peek() == ("op", "{") and self.peek(1)[0] in ("ident", "qident") and self.peek(2) == ("op", ":"):
            self.i += 1; fields = []
            while True:
                name = self.ident(); self.expect(":"); fields.append((name, self.term()))
                if not self.accept(","): break
            self.expect("}")
            return ("udt", fields)
        return self.term()

    # ---- where ----
    def where(self):
        conds = []
        while True:
            if self.accept("("):  # (a, b) > (x, y) not supported
                raise CQLSyntaxError("line 1:0 multi-column relations are not supported by this node")
            col = self.ident()
            t = self.next()
            if t[0] == "ident" and t[1].lower() == "in":
                self.expect("("); items = self._items(")"); conds.append((col, "in", items))
            elif t[0] == "op" and t[1] in ("=", "<", ">", "<=", ">=", "!="):
                conds.append((col, t[1], self.udt_literal_or_term()))
            elif t[0] == "op" and t[1] == "[":
                key = self.term(); self.expect("]"); self.expect("="); conds.append((col, "elem=", (key, self.term())))
            else:
                raise CQLSyntaxError(f"line 1:0 no viable alternative at input {t[1]!r}")
            if not self.accept_kw("and"): break
        return conds

    def using(self):
        opts = {}
        if self.accept_kw("using"):
            while True:
                if self.accept_kw("ttl"): opts["ttl"] = self.term()
                elif self.accept_kw("timestamp"): opts["timestamp"] = self.term()
                else: raise CQLSyntaxError("line 1:0 expecting TTL or TIMESTAMP")
                if not self.accept_kw("and"): break
        return opts

    def end(self):
        self.accept(";")
        if self.peek()[0] != "eof": raise CQLSyntaxError(f"line 1:0 extraneous input {self.peek()[1]!r}")


def parse(text):
    p = Parser(text)
    stmt = statement(p)
    p.end()
    stmt["bind_count"] = p.bind_count
    return stmt


def statement(p):
    if p.accept_kw("select"): return select(p)
    if p.accept_kw("insert"): return insert(p)
    if p.accept_kw("update"): return update(p)
    if p.accept_kw("delete"): return delete(p)
    if p.accept_kw("use"): return {"kind": "use", "keyspace": p.ident()}
    if p.accept_kw("create"): return create(p)
    if p.accept_kw("drop"): return drop(p)
    if p.accept_kw("alter"): return alter(p)
    if p.accept_kw("truncate"):
        p.accept_kw("table"); ks, t = p.qualified(); return {"kind": "truncate", "ks": ks, "table": t}
    if p.accept_kw("begin"): return batch(p)
    raise CQLSyntaxError(f"line 1:0 no viable alternative at input {p.peek()[1]!r}")


def select(p):
    cols = []
    if p.accept("*"): cols = None
    else:
        while True:
            if p.kw("count") and p.peek(1) == ("op", "("):
                p.i += 2; p.accept("*") or p.ident(); p.expect(")"); name = "count"
                cols.append(("count", name))
            else:
                c = p.ident(); alias = p.ident() if p.accept_kw("as") else None
                cols.append(("col", c, alias))
            if not p.accept(","): break
    p.expect_kw("from")
    ks, table = p.qualified()
    where = p.where() if p.accept_kw("where") else []
    order = []
    if p.accept_kw("order"):
        p.expect_kw("by")
        while True:
            c = p.ident(); d = "desc" if p.accept_kw("desc") else ("asc" if p.accept_kw("asc") or True else "asc")
            order.append((c, d))
            if not p.accept(","): break
    limit = p.term() if p.accept_kw("limit") else None
    if p.accept_kw("allow"): p.expect_kw("filtering")
    return {"kind": "select", "cols": cols, "ks": ks, "table": table, "where": where, "order": order, "limit": limit}


def insert(p):
    p.expect_kw("into")
    ks, table = p.qualified()
    p.expect("("); cols = [p.ident()]
    while p.accept(","): cols.append(p.ident())
    p.expect(")"); p.expect_kw("values"); p.expect("(")
    vals = [p.udt_literal_or_term()]
    while p.accept(","): vals.append(p.udt_literal_or_term())
    p.expect(")")
    ine = False
    if p.accept_kw("if"): p.expect_kw("not"); p.expect_kw("exists"); ine = True
    opts = p.using()
    return {"kind": "insert", "ks": ks, "table": table, "cols": cols, "vals": vals, "if_not_exists": ine, "using": opts}


def update(p):
    ks, table = p.qualified()
    opts = p.using()
    p.expect_kw("set")
    assigns = []
    while True:
        col = p.ident()
        if p.accept("["):
            key = p.term(); p.expect("]"); p.expect("="); assigns.append((col, "elem", key, p.udt_literal_or_term()))
        else:
            p.expect("=")
            if p.peek()[0] in ("ident", "qident") and p.peek()[1].lower() == col and p.peek(1)[0] == "op" and p.peek(1)[1] in "+-":
                p.i += 1; op = p.next()[1]; assigns.append((col, "add" if op == "+" else "sub", None, p.term()))
            else:
                v = p.udt_literal_or_term()
                if p.peek()[0] == "op" and p.peek()[1] == "+" and p.peek(1)[0] in ("ident", "qident") and p.peek(1)[1].lower() == col:
                    p.i += 2; assigns.append((col, "prepend", None, v))
                else:
                    assigns.append((col, "set", None, v))
        if not p.accept(","): break
    p.expect_kw("where")
    where = p.where()
    cond = None
    if p.accept_kw("if"):
        if p.accept_kw("exists"): cond = "exists"
        else: cond = p.where()
    return {"kind": "update", "ks": ks, "table": table, "assigns": assigns, "where": where, "if": cond, "using": opts}


def delete(p):
    targets = []
    if not p.kw("from"):
        while True:
            col = p.ident()
            if p.accept("["): key = p.term(); p.expect("]"); targets.append((col, key))
            else: targets.append((col, None))
            if not p.accept(","): break
    p.expect_kw("from")
    ks, table = p.qualified()
    opts = p.using()
    p.expect_kw("where")
    where = p.where()
    cond = None
    if p.accept_kw("if"):
        if p.accept_kw("exists"): cond = "exists"
        else: cond = p.where()
    return {"kind": "delete", "ks": ks, "table": table, "targets": targets, "where": where, "if": cond}


def create(p):
    if p.accept_kw("keyspace"):
        ine = _ifnot(p); name = p.ident()
        p.expect_kw("with")
        while p.peek()[0] != "eof" and p.peek() != ("op", ";"): p.next()
        return {"kind": "create_keyspace", "name": name, "if_not_exists": ine}
    if p.accept_kw("type"):
        ine = _ifnot(p); ks, name = p.qualified(); p.expect("(")
        fields = []
        while True:
            f = p.ident(); fields.append((f, p.cql_type()))
            if not p.accept(","): break
        p.expect(")")
        return {"kind": "create_type", "ks": ks, "name": name, "fields": fields, "if_not_exists": ine}
    if p.accept_kw("table"):
        ine = _ifnot(p); ks, name = p.qualified(); p.expect("(")
        cols, pk, ck = [], [], []
        while True:
            if p.accept_kw("primary"):
                p.expect_kw("key"); p.expect("(")
                if p.accept("("):
                    pk = [p.ident()]
                    while p.accept(","): pk.append(p.ident())
                    p.expect(")")
                else:
                    pk = [p.ident()]
                while p.accept(","): ck.append(p.ident())
                p.expect(")")
            else:
                c = p.ident(); t = p.cql_type()
                if p.accept_kw("static"): pass
                cols.append((c, t))
                if p.accept_kw("primary"): p.expect_kw("key"); pk = [c]
            if not p.accept(","): break
        p.expect(")")
        order = {}
        if p.accept_kw("with"):
            while p.peek()[0] != "eof" and p.peek() != ("op", ";"):
                if p.accept_kw("clustering"):
                    p.expect_kw("order"); p.expect_kw("by"); p.expect("(")
                    while True:
                        c = p.ident(); order[c] = "desc" if p.accept_kw("desc") else (p.accept_kw("asc") and "asc" or "asc")
                        if not p.accept(","): break
                    p.expect(")")
                else:
                    p.next()
        return {"kind": "create_table", "ks": ks, "name": name, "cols": cols, "pk": pk, "ck": ck, "order": order, "if_not_exists": ine}
    raise CQLSyntaxError(f"line 1:0 no viable alternative at input {p.peek()[1]!r}")


def drop(p):
    what = p.ident()
    ie = False
    if p.accept_kw("if"): p.expect_kw("exists"); ie = True
    if what == "keyspace": return {"kind": "drop_keyspace", "name": p.ident(), "if_exists": ie}
    ks, name = p.qualified()
    return {"kind": "drop_" + what, "ks": ks, "name": name, "if_exists": ie}


def alter(p):
    p.expect_kw("table"); ks, name = p.qualified()
    if p.accept_kw("add"):
        c = p.ident(); return {"kind": "alter_add", "ks": ks, "name": name, "col": c, "type": p.cql_type()}
    raise CQLSyntaxError("line 1:0 only ALTER TABLE ... ADD is supported by this node")


def batch(p):
    btype = "logged"
    if p.accept_kw("unlogged"): btype = "unlogged"
    elif p.accept_kw("counter"): btype = "counter"
    elif p.accept_kw("logged"): pass
    p.expect_kw("batch")
    p.using()
    stmts = []
    while not p.kw("apply"):
        stmts.append(statement(p)); p.accept(";")
    p.expect_kw("apply"); p.expect_kw("batch")
    return {"kind": "batch", "type": btype, "stmts": stmts}


def _ifnot(p):
    if p.accept_kw("if"): p.expect_kw("not"); p.expect_kw("exists"); return True
    return False
