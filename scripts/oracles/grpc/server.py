#!/usr/bin/env python3
"""grpcio (C core) oracle server for the GRPCWire interop tests.

   server.py [--tls-cert CERT --tls-key KEY [--client-ca CA]]
Binds 127.0.0.1 on a free port (TLS with ALPN h2 when a certificate is given; with --client-ca
every client must present a certificate signed by that CA) and prints
`PORT <n>` when ready. Serves peers.echo.Echo (see echo.proto) and grpc.health.v1.Health.
"""
import argparse, os, sys, threading, time
import grpc
from concurrent import futures
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubs import echo_pb2 as pb, echo_pb2_grpc as rpc, health_pb2, health_pb2_grpc

cancelled = 0
lock = threading.Lock()

def note_cancel():
    global cancelled
    with lock:
        cancelled += 1

class Echo(rpc.EchoServicer):
    def Unary(self, m, ctx):
        md = dict(ctx.invocation_metadata())
        if "x-compress" in md:
            ctx.set_compression({"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[md["x-compress"]])
        ctx.set_trailing_metadata((("x-echo-trailer", "t1"), ("x-bin-bin", b"\x00\x01")))
        if "x-echo-header" in md:
            ctx.send_initial_metadata((("x-echo-header", md["x-echo-header"]),))
        if m.text == "sleep":
            end = time.time() + m.n
            while time.time() < end and ctx.is_active():
                time.sleep(0.01)
            if not ctx.is_active():
                note_cancel()
        return pb.Msg(text=m.text, n=m.n, blob=m.blob)

    def ServerStream(self, m, ctx):
        # The termination callback sees every cancellation: grpcio stops pulling this generator
        # once the client resets the stream, so a check inside the loop would only run by chance.
        state = {"done": False}
        ctx.add_callback(lambda: None if state["done"] else note_cancel())
        for i in range(m.n):
            if not ctx.is_active():
                return
            yield pb.Msg(text=f"{m.text}-{i}", n=i)
        state["done"] = True

    def ClientStream(self, it, ctx):
        ms = list(it)
        return pb.Msg(text="".join(x.text for x in ms), n=len(ms))

    def Bidi(self, it, ctx):
        for m in it:
            yield m

    def Fail(self, m, ctx):
        md = [("x-fail", "yes")]
        if m.blob:
            md.append(("grpc-status-details-bin", m.blob))
        ctx.set_trailing_metadata(md)
        ctx.abort(next(c for c in grpc.StatusCode if c.value[0] == m.n), m.text)

    def Stats(self, m, ctx):
        with lock:
            return pb.Msg(text="stats", n=cancelled)

class Health(health_pb2_grpc.HealthServicer):
    def Check(self, req, ctx):
        if req.service in ("", "peers.echo.Echo"):
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")

    def Watch(self, req, ctx):
        status = health_pb2.HealthCheckResponse.SERVING if req.service in ("", "peers.echo.Echo") \
            else health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        yield health_pb2.HealthCheckResponse(status=status)
        while ctx.is_active():
            time.sleep(0.05)

ap = argparse.ArgumentParser()
ap.add_argument("--tls-cert"); ap.add_argument("--tls-key"); ap.add_argument("--client-ca")
a = ap.parse_args()
opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
s = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=opts)
rpc.add_EchoServicer_to_server(Echo(), s)
health_pb2_grpc.add_HealthServicer_to_server(Health(), s)
if a.tls_cert:
    pairs = [(open(a.tls_key, "rb").read(), open(a.tls_cert, "rb").read())]
    if a.client_ca:
        creds = grpc.ssl_server_credentials(pairs, root_certificates=open(a.client_ca, "rb").read(),
                                            require_client_auth=True)
    else:
        creds = grpc.ssl_server_credentials(pairs)
    port = s.add_secure_port("127.0.0.1:0", creds)
else:
    port = s.add_insecure_port("127.0.0.1:0")
s.start()
print(f"PORT {port}", flush=True)
try:
    sys.stdin.read()  # the test closes stdin (or exits) to stop the server
finally:
    s.stop(0)
