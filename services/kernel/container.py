"""What the HTTP layer needs, built once by the composition root (deploy/bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.client import Client

from eventstore.store import PostgresEventStore
from runtime.clock import Clock
from runtime.settings import Settings
from services.kernel.auth import TokenService
from services.kernel.privacy import PersonalDataVault
from services.kernel.readmodels import ReadModels
from services.kernel.waiter import ProjectionWaiter

if TYPE_CHECKING:  # held by type only; deploy/bootstrap.py builds them (the kernel imports no capability)
    from services.audit.signing import CheckpointSigner
    from services.packs.registry import PolicyRegistry


@dataclass
class Container:
    settings: Settings
    clock: Clock
    pool: asyncpg.Pool
    store: PostgresEventStore
    temporal: Client
    tokens: TokenService
    vault: PersonalDataVault
    reads: ReadModels
    waiter: ProjectionWaiter
    policy: PolicyRegistry
    signer: CheckpointSigner | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue
