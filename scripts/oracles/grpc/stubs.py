"""Generates the grpcio stubs of echo.proto and health.proto into a temp dir and imports them."""
import os, shutil, sys, tempfile
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "..", "..", "..", "Protos")
_out = tempfile.mkdtemp(prefix="grpcwire-stubs-")
# health.proto is compiled from a flat copy: a generated `grpc/` package would shadow grpcio.
shutil.copy(os.path.join(PROTOS, "grpc", "health", "v1", "health.proto"), os.path.join(_out, "health.proto"))
for include, name in ((HERE, "echo.proto"), (_out, "health.proto")):
    rc = protoc.main(["protoc", f"-I{include}", f"--python_out={_out}", f"--grpc_python_out={_out}", name])
    if rc != 0:
        raise SystemExit(f"protoc failed for {name}")
sys.path.insert(0, _out)
import echo_pb2, echo_pb2_grpc  # noqa: E402
import health_pb2, health_pb2_grpc  # noqa: E402
