#!/usr/bin/env python3
"""grpcio (C core) oracle client for the GRPCWire interop tests: runs every case against a
server implementing peers.echo.Echo + grpc.health.v1.Health and prints `OK <case>` or
`FAIL <case>: <reason>` per case; exits 1 if any failed.

   client.py HOST:PORT [--tls CA.pem [--client-cert CERT.pem --client-key KEY.pem]]
GRPCWIRE_ORACLE_CASES=a,b limits the run to those cases.
"""
import os, sys, threading, time
import grpc
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubs import echo_pb2 as pb, echo_pb2_grpc as rpc, health_pb2, health_pb2_grpc

target = sys.argv[1]
# Functional calls get generous deadlines: CI runs every suite at once on two cores (debug builds).
T = float(os.environ.get("GRPCWIRE_ORACLE_TIMEOUT", "30"))
opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
if "--tls" in sys.argv:
    ca = open(sys.argv[sys.argv.index("--tls") + 1], "rb").read()
    key = chain = None
    if "--client-cert" in sys.argv:  # mutual TLS
        chain = open(sys.argv[sys.argv.index("--client-cert") + 1], "rb").read()
        key = open(sys.argv[sys.argv.index("--client-key") + 1], "rb").read()
    ch = grpc.secure_channel(target, grpc.ssl_channel_credentials(ca, key, chain),
                             options=opts + [("grpc.ssl_target_name_override", "localhost")])
else:
    ch = grpc.insecure_channel(target, options=opts)
st = rpc.EchoStub(ch)
failed = 0

ONLY = set(filter(None, os.environ.get("GRPCWIRE_ORACLE_CASES", "").split(",")))

def case(name):
    def wrap(f):
        global failed
        if ONLY and name not in ONLY:
            return f
        try:
            f()
            print(f"OK {name}", flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}: {e!r}"[:400], flush=True)
        return f
    return wrap

def eq(a, b):
    if a != b:
        raise AssertionError(f"{a!r} != {b!r}")

@case("unary_metadata_trailers")
def _():
    r, call = st.Unary.with_call(pb.Msg(text="hi", n=1), metadata=(("x-echo-header", "h1"),), timeout=T)
    eq(r.text, "hi")
    eq(dict(call.initial_metadata()).get("x-echo-header"), "h1")
    t = dict(call.trailing_metadata())
    eq(t.get("x-echo-trailer"), "t1")
    eq(t.get("x-bin-bin"), b"\x00\x01")

@case("server_streaming")
def _():
    eq([m.text for m in st.ServerStream(pb.Msg(text="s", n=5), timeout=T)], [f"s-{i}" for i in range(5)])

@case("client_streaming")
def _():
    r = st.ClientStream(iter([pb.Msg(text=c) for c in "abc"]), timeout=T)
    eq((r.text, r.n), ("abc", 3))

@case("bidi_streaming")
def _():
    eq([m.text for m in st.Bidi(iter([pb.Msg(text=c) for c in "xyz"]), timeout=T)], ["x", "y", "z"])

@case("error_status_details")
def _():
    try:
        st.Fail(pb.Msg(text="nope 100% ü", n=5, blob=b"\x08\x05"), timeout=T)
        raise AssertionError("no error")
    except grpc.RpcError as e:
        eq(e.code(), grpc.StatusCode.NOT_FOUND)
        eq(e.details(), "nope 100% ü")
        t = dict(e.trailing_metadata())
        eq(t.get("x-fail"), "yes")
        eq(t.get("grpc-status-details-bin"), b"\x08\x05")

@case("all_status_codes")
def _():
    for code in grpc.StatusCode:
        if code == grpc.StatusCode.OK:
            continue
        try:
            st.Fail(pb.Msg(text=code.name, n=code.value[0]), timeout=T)
            raise AssertionError("no error")
        except grpc.RpcError as e:
            eq((e.code(), e.details()), (code, code.name))

@case("large_8mib")
def _():
    blob = bytes(range(256)) * (8 << 12)
    eq(st.Unary(pb.Msg(blob=blob), timeout=4 * T).blob, blob)

@case("deadline_exceeded")
def _():
    t0 = time.time()
    try:
        st.Unary(pb.Msg(text="sleep", n=30), timeout=0.3)
        raise AssertionError("no error")
    except grpc.RpcError as e:
        eq(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
    if time.time() - t0 > T:
        raise AssertionError("deadline took too long")

@case("compression_gzip")
def _():
    r, call = st.Unary.with_call(pb.Msg(text="z" * 10000), compression=grpc.Compression.Gzip,
                                 metadata=(("x-compress", "gzip"),), timeout=T)
    eq(r.text, "z" * 10000)

@case("compression_deflate")
def _():
    r = st.Unary(pb.Msg(text="d" * 10000), compression=grpc.Compression.Deflate,
                 metadata=(("x-compress", "deflate"),), timeout=T)
    eq(r.text, "d" * 10000)

@case("health_check_watch")
def _():
    h = health_pb2_grpc.HealthStub(ch)
    eq(h.Check(health_pb2.HealthCheckRequest(service=""), timeout=T).status, health_pb2.HealthCheckResponse.SERVING)
    try:
        h.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=T)
        raise AssertionError("no error")
    except grpc.RpcError as e:
        eq(e.code(), grpc.StatusCode.NOT_FOUND)
    w = h.Watch(health_pb2.HealthCheckRequest(service=""), timeout=T)
    eq(next(w).status, health_pb2.HealthCheckResponse.SERVING)
    w.cancel()

@case("cancellation")
def _():
    before = st.Stats(pb.Msg(), timeout=T).n
    it = st.ServerStream(pb.Msg(text="c", n=10**7), timeout=6 * T)
    next(it)
    it.cancel()
    for _ in range(200):
        if st.Stats(pb.Msg(), timeout=T).n > before:
            return
        time.sleep(0.02)
    raise AssertionError("server did not observe the cancellation")

sys.exit(1 if failed else 0)
