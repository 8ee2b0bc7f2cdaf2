"""Drive a dynamic provider the way the Pulumi engine does, with no engine on this machine.

1. `registered_inputs` declares the resource under Pulumi's mock runtime in a fresh process and
   returns what the engine would be sent: every input, including the dill-pickled `__provider`,
   plus which inputs were secret and the resource's additional secret outputs.
2. `ProviderServer` runs `python -m pulumi.dynamic` (the server the engine launches for dynamic
   resources) in a fresh process and calls Check/Diff/Create/Read/Update/Delete over gRPC with
   protobuf Structs, as the engine does: numbers come back as floats, secrets as plaintext,
   unknowns as the preview sentinel. Its stderr (the provider logs) is kept in a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.realservices import REPO_ROOT, RUNTIME_DIR

_CAPTURE = r"""
import importlib, json, sys
import pulumi
from pulumi.runtime import mocks, rpc

spec = json.load(sys.stdin)
seen = {}

class Monitor(mocks.MockMonitor):
    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            seen["type"] = request.type
            seen["additional_secret_outputs"] = sorted(request.additionalSecretOutputs)
        return super().RegisterResource(request)

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        seen["secret_inputs"] = sorted(k for k, v in args.inputs.items() if rpc.is_rpc_secret(v))
        seen["inputs"] = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        return args.name + "-id", args.inputs

    def call(self, args):
        return {}

mock = Mocks()
pulumi.runtime.set_mocks(mock, preview=False, monitor=Monitor(mock))
cls = getattr(importlib.import_module(spec["module"]), spec["cls"])

@pulumi.runtime.test
def declare():
    return cls(spec["name"], **spec["kwargs"]).urn

declare()
json.dump(seen, sys.stdout)
"""


@dataclass(frozen=True)
class Registered:
    type: str
    inputs: dict[str, Any]
    secret_inputs: list[str]
    additional_secret_outputs: list[str]

    def urn(self, name: str) -> str:
        return f"urn:pulumi:test::labelstudio::{self.type}::{name}"


def registered_inputs(module: str, cls: str, name: str, **kwargs: Any) -> Registered:
    """What the engine receives when the program declares `cls(name, **kwargs)`."""
    spec = json.dumps({"module": module, "cls": cls, "name": name, "kwargs": kwargs})
    done = subprocess.run([sys.executable, "-c", _CAPTURE], input=spec, capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"declaring {cls} failed:\n{done.stderr[-3000:]}")
    seen = json.loads(done.stdout)
    return Registered(seen["type"], seen["inputs"], seen["secret_inputs"], seen["additional_secret_outputs"])


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


class ProviderServer:
    """A fresh `python -m pulumi.dynamic` process, called over gRPC like the engine does."""

    def __init__(self, log_name: str) -> None:
        RUNTIME_DIR.mkdir(exist_ok=True)
        self.log = RUNTIME_DIR / f"{log_name}.log"
        self.log.write_text("")
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "pulumi.dynamic"], cwd=REPO_ROOT,
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.Configure(provider_pb2.ConfigureRequest(args=_struct({}), acceptSecrets=False))

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        answer = self.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(news)))
        return _dict(answer.inputs), [f"{f.property}: {f.reason}" for f in answer.failures]

    def diff(self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[str, list[str]]:
        answer = self.stub.Diff(provider_pb2.DiffRequest(id=id_, urn=urn, olds=_struct(olds), news=_struct(news)))
        return provider_pb2.DiffResponse.DiffChanges.Name(answer.changes), list(answer.replaces)

    def create(self, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        answer = self.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=_struct(props)))
        return answer.id, _dict(answer.properties)

    def read(self, urn: str, id_: str, outs: dict[str, Any], inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        answer = self.stub.Read(provider_pb2.ReadRequest(
            id=id_, urn=urn, properties=_struct(outs), inputs=_struct(inputs)))
        return answer.id, _dict(answer.properties)

    def update(self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        answer = self.stub.Update(provider_pb2.UpdateRequest(id=id_, urn=urn, olds=_struct(olds), news=_struct(news)))
        return _dict(answer.properties)

    def delete(self, urn: str, id_: str, outs: dict[str, Any]) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn=urn, properties=_struct(outs)))

    def logs(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def rpc_error_text(error: grpc.RpcError) -> str:
    """What the engine would show the user for a failed provider call (the traceback text)."""
    details = error.details() if isinstance(error, grpc.Call) else None
    return str(details or error)


def log_records(path: Path) -> list[dict[str, Any]]:
    """The provider's JSON log lines (anything else on stderr is ignored)."""
    records = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records
