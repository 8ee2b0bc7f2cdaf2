"""Offline plan: run the program under Pulumi's mock runtime for one stack file.

    python -m tools.plan dev        # writes plan/dev.json
    python -m tools.plan prod
    python -m tools.plan ci --file path/to/Pulumi.ci.yaml

Every resource is recorded with type, name, parent, dependencies and inputs in the
engine's wire form (camelCase keys), each secret replaced by "[secret]". `secure:` values
in the stack file need no passphrase: they are planned as placeholder secrets.
Invalid settings: exit 1 with the same messages as `pulumi preview`.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import runpy
import secrets
import string
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config

from components.config import InvalidSettings
from components.settings import NAMESPACE
from tools import manifests, stack_file
from tools.manifests import MASK, SECRET_SIG, SIG_KEY

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    dependencies: list[str]
    wire_inputs: dict[str, Any]  # the engine's wire form, secrets still marked
    outputs: dict[str, Any] = field(default_factory=dict)
    retain_on_delete: bool = False
    provider: str = ""  # the explicit provider reference (urn::id), if any
    ignore_changes: list[str] = field(default_factory=list)
    protect: bool = False
    delete_before_replace: bool = False

    def inputs(self, reveal: bool = False) -> dict[str, Any]:
        """Inputs with secrets masked (default) or revealed (tests that need the values)."""
        return _unwrap(self.wire_inputs, reveal)


@dataclass
class Plan:
    stack: str
    resources: list[Resource]
    exports: dict[str, Any]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str, type_: str | None = None) -> Resource:
        found = [r for r in self.resources if r.name == name and (type_ is None or r.type == type_)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [
                {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent,
                 "dependencies": r.dependencies, "retainOnDelete": r.retain_on_delete, "inputs": r.inputs()}
                for r in sorted(self.resources, key=lambda r: r.urn)  # stable, so plans diff cleanly
            ],
        }


def _unwrap(value: Any, reveal: bool) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _unwrap(value.get("value"), reveal) if reveal else MASK
        return {k: _unwrap(v, reveal) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, reveal) for v in value]
    return value


class PlanMocks(pulumi.runtime.Mocks):
    """Answers like the real providers would, with fake but well-formed values."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            length = int(args.inputs.get("length", 16))
            alphabet = string.ascii_letters + string.digits
            outputs["result"] = "".join(secrets.choice(alphabet) for _ in range(length))
        elif args.typ == "random:index/randomBytes:RandomBytes":
            import base64

            raw = secrets.token_bytes(int(args.inputs.get("length", 32)))
            outputs.update(base64=base64.b64encode(raw).decode(), hex=raw.hex())
        elif args.typ == "docker:index/remoteImage:RemoteImage":  # stable, so plans diff cleanly
            outputs["imageId"] = "sha256:" + hashlib.sha256(str(args.inputs["name"]).encode()).hexdigest()
        elif args.typ == "docker:index/container:Container" and args.inputs.get("attach"):
            outputs["exitCode"] = 0
        elif args.typ.startswith("kubernetes:") and not (outputs.get("metadata") or {}).get("name"):
            # auto-named by pulumi-kubernetes: <logical name>-<random suffix>; here a stable one from
            # the inputs (a Secret's generated values left out, so plans stay reproducible)
            hashed = {k: v for k, v in args.inputs.items() if k not in ("stringData", "data")}
            digest = hashlib.sha256(json.dumps([args.name, hashed], sort_keys=True, default=str).encode())
            suffix = digest.hexdigest()[:8]
            outputs["metadata"] = {**outputs.get("metadata", {}), "name": f"{args.name}-{suffix}"}
        if args.typ == "kubernetes:batch/v1:Job":  # pulumi-kubernetes awaits completion
            outputs["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
        elif args.typ == "pulumi-python:dynamic/labelstudio:Project":
            outputs.setdefault("project_id", 1)
        elif args.typ == "pulumi-python:dynamic/labelstudio:User":
            outputs.setdefault("user_id", 1)
        elif args.typ == "pulumi-python:dynamic/labelstudio:Storage":
            outputs.setdefault("storage_id", 1)
        elif args.typ == "pulumi-python:dynamic/labelstudio:Webhook":
            outputs.setdefault("webhook_id", 1)
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class DuplicateResourceError(RuntimeError):
    pass


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping parent, dependencies and wire-form inputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.duplicates: list[str] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if any(r.urn == response.urn for r in self.recorded):  # the engine refuses the same URN twice
            self.duplicates.append(response.urn)
        # The engine marks `additionalSecretOutputs` (e.g. RandomPassword.result) secret;
        # the stock mock monitor does not, so do it here as the engine would.
        outputs = json_format.MessageToDict(response.object)
        for key in request.additionalSecretOutputs:
            if key in outputs and not (isinstance(outputs[key], dict) and SIG_KEY in outputs[key]):
                response.object.update({key: {SIG_KEY: SECRET_SIG, "value": outputs[key]}})
        if request.type != "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.object)
            self.recorded.append(Resource(
                urn=response.urn, type=request.type, name=request.name, parent=request.parent,
                custom=bool(request.custom), dependencies=sorted(request.dependencies),
                wire_inputs=wire, outputs=dict(self.resources[response.urn].state),
                retain_on_delete=bool(request.retainOnDelete), provider=request.provider,
                ignore_changes=list(request.ignoreChanges), protect=bool(request.protect),
                delete_before_replace=bool(request.deleteBeforeReplace),
            ))
        return response


def stack_config(stack: str, path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Config from Pulumi.<stack>.yaml (or `path`) as the engine passes it."""
    return stack_file.read(path or ROOT / f"Pulumi.{stack}.yaml")


def run(stack: str, path: Path | None = None, mocks: PlanMocks | None = None) -> Plan:
    """Run the program for `stack` (config from `path` if given) under mocks."""
    config, secret_keys = stack_config(stack, path)
    # Pulumi's runtime state lives in context variables and the thread's event loop: a fresh
    # context on a thread of its own keeps runs (and tests) from leaking into each other.
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(contextvars.Context().run, _run, stack, config, secret_keys,
                             mocks or PlanMocks()).result()


def _run(stack: str, config: dict[str, Any], secret_keys: list[str], mocks: PlanMocks) -> Plan:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(mocks)
    set_all_config(config, secret_keys)
    try:
        pulumi.runtime.set_mocks(mocks, project=NAMESPACE, stack=stack, preview=False, monitor=monitor)
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
        root = pulumi.runtime.get_root_resource()
        exports = dict(getattr(root, "outputs", {}) or {})
        if monitor.duplicates:
            raise DuplicateResourceError(f"duplicate resource URN(s): {', '.join(monitor.duplicates)}")
    finally:
        # A failed run leaves tasks behind: cancel them so the next run starts clean.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        with runtime_settings.SETTINGS.lock:
            for task in runtime_settings.SETTINGS.outputs:  # their error was reported already
                if task.done() and not task.cancelled():
                    task.exception()
            runtime_settings.SETTINGS.outputs.clear()
        asyncio.set_event_loop(None)
        loop.close()
    return Plan(stack, monitor.recorded, exports)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--file") or argv[0].startswith("-"):
        print("usage: python -m tools.plan <stack> [--file Pulumi.<stack>.yaml]", file=sys.stderr)
        return 2
    stack = argv[0]
    path = Path(argv[2]) if len(argv) == 3 else ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        print(f"no stack file {path}", file=sys.stderr)
        return 2
    try:
        plan = run(stack, path)
    except (InvalidSettings, stack_file.StackFileError) as err:
        print(str(err), file=sys.stderr)
        return 1
    out = ROOT / "plan" / f"{stack}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n")
    print(f"{out.relative_to(ROOT)}: {len(plan.resources)} resources")
    written = manifests.write(plan, ROOT / "plan" / stack)
    if written:
        print(f"plan/{stack}/: {written} Kubernetes manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
