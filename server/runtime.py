"""Turning settings into a live Workflow: one shared Cekura client, the ledger and the policy.

The client is made at first use, so a missing key is a clear error on the first tool call rather
than a crash at start-up; `--sandbox` swaps the network for the in-process sandbox.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from server.settings import Settings
from tools.errors import WorkflowError

if TYPE_CHECKING:
    from tools.cekura.client import CekuraClient
    from tools.workflow import Workflow

SANDBOX_KEY = "sandbox-key"
SANDBOX_URL = "http://sandbox.cekura.invalid"


class Runtime:
    """Holds what the server's tools share for the life of the process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: CekuraClient | None = None
        self._workflow: Workflow | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.sandbox_state = None

    def workflow(self) -> Workflow:
        """The shared Workflow, built on first use."""
        if self._workflow is None:
            self._workflow = self._build()
        return self._workflow

    def _build(self) -> Workflow:
        from tools.cekura.client import CekuraClient
        from tools.ledger import Ledger
        from tools.workflow import Policy, PollPolicy, Workflow

        settings = self.settings
        policy = Policy(read_only=settings.read_only, eval_budget=settings.eval_budget)
        if settings.sandbox:
            from sandbox import SandboxState, sandbox_transport

            self.sandbox_state = SandboxState.seeded()
            client = CekuraClient(
                SANDBOX_KEY, SANDBOX_URL, transport=sandbox_transport(self.sandbox_state)
            )
            fast = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.5, heartbeat_s=15.0)
            policy = Policy(
                read_only=settings.read_only,
                eval_budget=settings.eval_budget,
                poll=fast,
                run_reviews_poll=fast,
            )
        else:
            if settings.api_key is None:
                raise WorkflowError(
                    "CEKURA_API_KEY is not set. Create a project API key in Cekura (Settings → API "
                    "Keys) and set it in the server's environment, or start with --sandbox to try "
                    "the built-in sandbox."
                )
            client = CekuraClient(settings.api_key.get_secret_value(), settings.base_url)
        self._client = client
        return Workflow(client=client, ledger=Ledger(self._ledger_path()), policy=policy)

    def _ledger_path(self) -> Path:
        """The sandbox gets a fresh ledger per process (its world is fresh too) unless a state
        directory was given; real use shares the user's ledger."""
        if self.settings.sandbox and self.settings.state_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="cekura-optimise-sandbox-")
            return Path(self._tempdir.name) / "ledger.sqlite3"
        return self.settings.ledger_path()

    async def aclose(self) -> None:
        """Close the HTTP client and any temporary state."""
        if self._client is not None:
            await self._client.aclose()
        if self._tempdir is not None:
            self._tempdir.cleanup()
