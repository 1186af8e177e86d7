"""A local stand-in for the Cekura API: seeded metrics, deterministic judge and optimiser, faults.

It implements Cekura's contract independently of our client (it imports nothing from `tools`,
`server` or `prompts`), for the demo, for trying the tools without an account, and for tests.
"""

from sandbox.app import build_app
from sandbox.faults import Fault, FaultPlan, FaultSpecError, RunFault, parse_fault_spec
from sandbox.serve import BackgroundServer, serve, start_background
from sandbox.state import RequestRecord, SandboxState
from sandbox.transport import sandbox_client, sandbox_transport

__all__ = [
    "BackgroundServer",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "RequestRecord",
    "RunFault",
    "SandboxState",
    "build_app",
    "parse_fault_spec",
    "sandbox_client",
    "sandbox_transport",
    "serve",
    "start_background",
]
