"""The `lentur` command."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from runtime.logging import configure_logging
from runtime.settings import Settings

app = typer.Typer(
    help="Lentur: pengajuan kerja fleksibel dan cuti ASN dengan jejak audit terverifikasi.",
    no_args_is_help=True,
)
directory_app = typer.Typer(help="Direktori organisasi.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit: verifikasi, putar ulang, ekspor.", no_args_is_help=True)
projections_app = typer.Typer(help="Proyeksi (read model).", no_args_is_help=True)
policy_app = typer.Typer(help="Paket kebijakan: periksa dan terbitkan.", no_args_is_help=True)
keys_app = typer.Typer(help="Kunci: rotasi kunci brankas data pribadi.", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
console = Console()


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level)
    return settings


def _run_until_signal(component: str, run: object) -> None:
    """Run an async component until SIGINT/SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(stop)  # type: ignore[operator]

    asyncio.run(main())


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option(help="dev sign-in, simulated clock 2025-12-22 09:00 WITA, sample directory")
    ] = False,
    directory: Annotated[Path | None, typer.Option(help="import this directory CSV")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default 8000 or a free one)")] = None,
    simulated_now: Annotated[
        str | None, typer.Option(help="start a simulated clock here, e.g. 2025-12-29T08:00:00+08:00")
    ] = None,
    reset: Annotated[bool, typer.Option(help="start empty: delete .lentur/ first")] = False,
    state_dir: Annotated[Path, typer.Option(help="where all state lives")] = Path(".lentur"),
) -> None:
    """Start the embedded stack, worker, projector and portal."""
    from deploy.up import UpOptions, run_up

    configure_logging("WARNING")
    if directory is not None and not directory.exists():
        raise typer.BadParameter(f"{directory} does not exist")
    run_up(
        UpOptions(
            state_dir=state_dir.resolve(),
            demo=demo,
            directory=directory,
            port=port,
            simulated_now=simulated_now,
            reset=reset,
        )
    )


@app.command()
def serve() -> None:
    """Run the HTTP API and portal (addresses from LENTUR_* settings)."""
    from deploy.bootstrap import run_api

    settings = _settings()
    _run_until_signal("api", lambda stop: run_api(settings, stop))


@app.command()
def worker() -> None:
    """Run the Temporal worker."""
    from deploy.bootstrap import run_worker

    settings = _settings()
    _run_until_signal("worker", lambda stop: run_worker(settings, stop))


@app.command()
def projector() -> None:
    """Run the outbox relay and the projections."""
    from deploy.bootstrap import run_projector

    settings = _settings()
    _run_until_signal("projector", lambda stop: run_projector(settings, stop))


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    from deploy.bootstrap import prepare_database

    applied = asyncio.run(prepare_database(_settings()))
    console.print(f"applied: {', '.join(applied) or 'nothing new'}")


@directory_app.command("import")
def directory_import(file: Path) -> None:
    """Import an org directory CSV (all-or-nothing)."""
    from deploy.bootstrap import api_container
    from services.admin.directory import import_directory
    from services.problems import Problem

    settings = _settings()

    async def main() -> None:
        async with api_container(settings) as container:
            result = await import_directory(container, file.read_text(encoding="utf-8"), actor="system")
        console.print_json(result.model_dump_json())

    try:
        asyncio.run(main())
    except Problem as problem:
        console.print(f"[red]{problem.detail}[/red]")
        for err in problem.extra.get("errors", []):
            console.print(f"  baris {err['row']}: {err['reason']}")
        raise typer.Exit(2) from problem


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every hash in the store and report the first inconsistency."""
    from deploy.bootstrap import open_pool
    from services.audit.service import verify_store

    settings = _settings()

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="audit")
        try:
            return (await verify_store(pool)).as_dict()
        finally:
            await pool.close()

    report = asyncio.run(main())
    console.print_json(data=report)
    if not report["ok"]:
        raise typer.Exit(1)


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Rebuild every read model from the event store."""
    from deploy.bootstrap import open_pool
    from services.approvals.rebuild import rebuild_read_models

    settings = _settings()

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="rebuild")
        try:
            return await rebuild_read_models(pool, progress=console)
        finally:
            await pool.close()

    console.print_json(data=asyncio.run(main()))


@policy_app.command("check")
def policy_check(pack: Path) -> None:
    """Validate a policy pack and print its rules as tables."""
    from policy.report import check_pack

    ok, rendered = check_pack(pack)
    console.print(rendered)
    if not ok:
        raise typer.Exit(1)


@policy_app.command("publish")
def policy_publish(pack: Path) -> None:
    """Publish a pack version (PolicyPackPublished with its SHA-256); requests in flight keep their pack."""
    from deploy.bootstrap import clock_from, open_pool
    from eventstore.store import PostgresEventStore
    from policy.packs import PackInvalid
    from services.packs.registry import PackVersionConflict, publish_pack

    settings = _settings()

    async def publish() -> None:
        pool = await open_pool(settings, name="policy", max_size=2)
        try:
            published = await publish_pack(
                PostgresEventStore(pool), clock_from(settings), pack.read_text(encoding="utf-8"), actor="system"
            )
        finally:
            await pool.close()
        state = "tidak berubah (sudah terbit)" if published.unchanged else f"terbit pada posisi {published.position}"
        console.print(f"{published.pack.id} {published.pack.version} sha256={published.pack.sha256}: {state}")

    try:
        asyncio.run(publish())
    except (PackInvalid, PackVersionConflict) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Re-wrap every personal-data key under LENTUR_VAULT_SECRET (after a rotation; see the README)."""
    from deploy.bootstrap import open_pool
    from services.privacy import PersonalDataVault

    settings = _settings()

    async def rewrap() -> int:
        pool = await open_pool(settings, name="keys", max_size=2)
        try:
            previous = [old.get_secret_value() for old in settings.vault_previous_secrets]
            return await PersonalDataVault(pool, settings.vault_key_secret, previous=previous).rewrap()
        finally:
            await pool.close()

    console.print(f"kunci dibungkus ulang: {asyncio.run(rewrap())}")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(app())
