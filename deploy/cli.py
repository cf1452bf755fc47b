"""The `lentur` command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runtime import loop as event_loop
from runtime.logging import configure_logging
from runtime.settings import Settings

app = typer.Typer(
    help="Lentur: pengajuan kerja fleksibel dan cuti ASN dengan jejak audit terverifikasi.",
    no_args_is_help=True,
)
directory_app = typer.Typer(help="Direktori organisasi.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit: verifikasi, checkpoint, ekspor, putar ulang.", no_args_is_help=True)
projections_app = typer.Typer(help="Proyeksi (read model).", no_args_is_help=True)
policy_app = typer.Typer(help="Paket kebijakan: periksa, bandingkan, simulasikan, terbitkan.", no_args_is_help=True)
privacy_app = typer.Typer(help="Data pribadi: retensi dan penghapusan.", no_args_is_help=True)
keys_app = typer.Typer(help="Kunci: rotasi kunci brankas data pribadi.", no_args_is_help=True)
leave_app = typer.Typer(help="Cuti: rekap keputusan untuk sistem kepegawaian.", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")
app.add_typer(policy_app, name="policy")
app.add_typer(privacy_app, name="privacy")
app.add_typer(keys_app, name="keys")
app.add_typer(leave_app, name="leave")
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

    event_loop.run(main())


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
    from services.kernel.problems import Problem

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


def _audit_public_keys(settings: Settings, trust: list[str]) -> dict[str, str]:
    """Keys to trust: given on the command line, in settings, and this installation's own (never created)."""
    from services.audit.signing import KEY_FILE, parse_private_key, trusted_keys_from_settings

    own: list[str] = []
    if settings.audit_signing_key is not None:
        key = parse_private_key(settings.audit_signing_key.get_secret_value())
    elif (settings.state_dir / KEY_FILE).exists():
        key = parse_private_key((settings.state_dir / KEY_FILE).read_text())
    else:
        key = None
    if key is not None:
        from services.audit.signing import CheckpointSigner

        own.append(CheckpointSigner(key).public_key)
    # After `lentur restore`: the key that signed the checkpoints before the backup, when it was lost with the disk.
    from deploy.backup.restore import TRUSTED_KEYS_FILE

    restored = settings.state_dir / TRUSTED_KEYS_FILE
    if restored.exists():
        own += [line.strip() for line in restored.read_text().splitlines() if line.strip()]
    return trusted_keys_from_settings(settings, *own, *trust)


def _read_key_args(trust: list[str]) -> list[str]:
    """`--trust` takes a key or a file holding one."""
    keys = []
    for value in trust:
        path = Path(value)
        keys.append(path.read_text() if len(value) < 4096 and path.is_file() else value)
    return keys


@audit_app.command("verify")
def audit_verify(
    bundle: Annotated[Path | None, typer.Option(help="verify this bundle offline (no database, no network)")] = None,
    trust: Annotated[
        list[str] | None, typer.Option(help="a trusted public key (base64, hex, PEM, or a file); repeatable")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="processes for a large log (default: one per CPU, from 300,000 events on)"),
    ] = None,
) -> None:
    """Recompute every hash and check every signed checkpoint; report the first inconsistency."""
    trusted_args = _read_key_args(trust or [])
    if bundle is not None:
        # The offline path: nothing here may need a database or a network client.
        from services.audit.bundle import verify_bundle
        from services.audit.signing import parse_public_key

        keys = [parse_public_key(k) for k in trusted_args]
        try:
            settings_keys = Settings().audit_trusted_keys
        except Exception:
            settings_keys = []
        keys += [parse_public_key(k) for k in settings_keys]
        from services.audit.signing import key_id_of

        result = verify_bundle(bundle, trusted_keys={key_id_of(k): k for k in keys} or None).as_dict()
        console.print_json(data=result)
        if not result["ok"]:
            raise typer.Exit(1)
        return

    from deploy.bootstrap import open_pool
    from services.audit.service import verify_store

    settings = _settings()
    trusted = _audit_public_keys(settings, trusted_args)

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="audit")
        try:
            report = await verify_store(
                pool,
                trusted_keys=trusted,
                workers=workers or os.cpu_count() or 1,
                dsn=settings.require("database_url"),
            )
            return report.as_dict()
        finally:
            await pool.close()

    report = asyncio.run(main())
    console.print_json(data=report)
    if not report["ok"]:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify what is new and sign the head of the chain now."""
    from deploy.bootstrap import clock_from, open_pool
    from eventstore.store import PostgresEventStore
    from services.audit.checkpoints import ChainBroken, sign_checkpoint
    from services.audit.signing import signer_from_settings

    settings = _settings()

    async def main() -> dict[str, object] | None:
        pool = await open_pool(settings, name="audit")
        try:
            signed = await sign_checkpoint(
                PostgresEventStore(pool), signer_from_settings(settings), clock_from(settings)
            )
            return signed.as_dict() if signed else None
        finally:
            await pool.close()

    try:
        result = asyncio.run(main())
    except ChainBroken as broken:
        console.print_json(data=broken.report.as_dict())
        raise typer.Exit(1) from broken
    console.print_json(data=result)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="the bundle file to write (.zip)")],
    from_: Annotated[str | None, typer.Option("--from", help="first position, or an ISO time with offset")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last position, or an ISO time with offset")] = None,
    region: Annotated[str | None, typer.Option(help="show only this region's records in full")] = None,
) -> None:
    """Write a bundle of the events between --from and --to that verifies offline (lentur audit verify --bundle).

    --from/--to are positions, dates (whole local days) or times."""
    from datetime import timedelta

    from deploy.bootstrap import clock_from, open_pool
    from eventstore.store import PostgresEventStore
    from services.audit.access import region_zone
    from services.audit.export import EmptyRange, ExportScope, export_bundle
    from services.audit.replay import parse_time
    from services.audit.service import position_at
    from services.audit.signing import signer_from_settings

    settings = _settings()

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="audit")
        try:
            local = await region_zone(pool, region)
            first = int(from_) if from_ and from_.isdigit() else None
            last = int(to) if to and to.isdigit() else None
            try:
                if from_ and first is None:
                    first = await position_at(pool, parse_time(from_, zone=local) - timedelta(microseconds=1)) + 1
                if to and last is None:
                    last = await position_at(pool, parse_time(to, zone=local, end_of_day=True))
            except ValueError as bad:
                raise typer.BadParameter(str(bad)) from bad
            with out.open("wb") as target:
                return await export_bundle(
                    PostgresEventStore(pool),
                    target,
                    first=first,
                    last=last,
                    scope=ExportScope(region=region),
                    clock=clock_from(settings),
                    signer=signer_from_settings(settings),
                    exported_by=None,
                    file_name=out.name,
                )
        finally:
            await pool.close()

    try:
        manifest = asyncio.run(main())
    except EmptyRange as empty:
        out.unlink(missing_ok=True)
        console.print(f"[red]{empty}[/red]")
        raise typer.Exit(2) from empty
    console.print_json(data={k: manifest[k] for k in ("range", "anchor", "events", "packs")})


@audit_app.command("replay")
def audit_replay(
    as_of: Annotated[str | None, typer.Option(help="e.g. 2025-12-29T10:00:00+08:00 or '2025-12-29 10:00 WITA'")] = None,
    request: Annotated[str | None, typer.Option(help="explain this request")] = None,
    position: Annotated[int | None, typer.Option(help="replay up to this log position instead")] = None,
    region: Annotated[str | None, typer.Option(help="list only this region's requests")] = None,
    zone: Annotated[
        str | None, typer.Option(help="WIB, WITA, WIT or an IANA zone for times written without one")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Rebuild the approval state as it stood at a moment, from the events alone, and explain decisions.

    A time without a zone is local to --zone, else to the region's (or the log's usual) zone; a bare date
    means the end of that day."""
    from uuid import UUID

    from deploy.bootstrap import open_pool
    from eventstore.store import PostgresEventStore
    from services.audit.access import region_zone
    from services.audit.replay import ZONE_NAMES, parse_time, request_summaries
    from services.audit.store_replay import replay_request, replay_store

    if as_of is None and position is None:
        raise typer.BadParameter("give --as-of or --position")
    if zone is not None and zone not in ZONE_NAMES:
        raise typer.BadParameter(f"unknown zone {zone!r}", param_hint="--zone")
    settings = _settings()

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="audit")
        try:
            store = PostgresEventStore(pool)
            local = ZONE_NAMES[zone] if zone else await region_zone(pool, region)
            try:
                moment = parse_time(as_of, zone=local, end_of_day=True) if as_of else None
            except ValueError as bad:
                raise typer.BadParameter(str(bad), param_hint="--as-of") from bad
            if request is not None:
                result, story = await replay_request(store, UUID(request), as_of=moment, position=position)
                return {
                    "as_of": moment,
                    "position": result.position,
                    "request": story.as_dict() if story else None,
                }
            replayed = await replay_store(store, as_of=moment, position=position)
            return {
                "as_of": moment,
                "position": replayed.position,
                "events": replayed.events,
                "requests": request_summaries(replayed.state, region=region),
            }
        finally:
            await pool.close()

    result = asyncio.run(main())
    if as_json:
        from contracts.canonical import canonical_json

        console.print_json(canonical_json(result))
        return
    _print_replay(result)


def _print_replay(result: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"Keadaan per posisi log [bold]{result['position']}[/bold]")
    story = result.get("request")
    if "request" in result and story is None:
        console.print("[yellow]Pengajuan itu belum ada pada saat tersebut.[/yellow]")
        return
    if story is not None:
        console.print(story["summary"])
        for item in story["timeline"]:
            console.print(f"  {item['at_local']}  {item['text']}")
        return
    table = Table("pengajuan", "pemohon", "jenis", "tanggal", "status", "tahap")
    for r in result["requests"]:
        table.add_row(
            r["request_id"],
            f"{r['requester_name']} ({r['requester_nip']})",
            r["kind"],
            ", ".join(r["dates"]),
            r["status"],
            r["current_tier"] or "",
        )
    console.print(table)


@audit_app.command("keygen")
def audit_keygen() -> None:
    """Make a checkpoint signing key: the private key for LENTUR_AUDIT_SIGNING_KEY, the public one to publish."""
    from services.audit.signing import CheckpointSigner, generate_private_key, private_key_pem

    key = generate_private_key()
    signer = CheckpointSigner(key)
    console.print("# LENTUR_AUDIT_SIGNING_KEY (rahasia; simpan di pengelola rahasia)")
    console.print(private_key_pem(key), highlight=False)
    console.print(f"# kunci publik (umumkan kepada inspektorat), key_id {signer.key_id}")
    console.print(signer.public_key, highlight=False)


@audit_app.command("bench")
def audit_bench(
    events: Annotated[int, typer.Option(help="how many events to generate")] = 100_000,
    out: Annotated[Path | None, typer.Option(help="write the figures here (JSON)")] = None,
    keep: Annotated[bool, typer.Option(help="keep the scratch database")] = False,
) -> None:
    """Measure verify and rebuild on a synthetic store in a scratch database."""
    import json

    from deploy.bench.audit import run_bench

    settings = _settings()
    figures = asyncio.run(run_bench(settings.require("database_url"), events=events, keep=keep))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2))
    console.print_json(data=figures)


@privacy_app.command("erase")
def privacy_erase(
    dry_run: Annotated[bool, typer.Option(help="list the keys that are due, destroy nothing")] = False,
) -> None:
    """Destroy the keys of personal data past its retention period (crypto-shredding); verify stays green."""
    from deploy.bootstrap import clock_from, open_pool
    from eventstore.store import PostgresEventStore
    from services.kernel.privacy import PersonalDataVault, erase_expired

    settings = _settings()
    clock = clock_from(settings)

    async def main() -> dict[str, object]:
        pool = await open_pool(settings, name="privacy")
        try:
            result = await erase_expired(
                PersonalDataVault(
                    pool,
                    settings.vault_key_secret,
                    previous=[old.get_secret_value() for old in settings.vault_previous_secrets],
                ),
                PostgresEventStore(pool),
                now=clock.now(),
                retention_months=settings.privacy_retention_months,
                clock_mode=clock.mode,
                dry_run=dry_run,
            )
            return result.as_dict()
        finally:
            await pool.close()

    console.print_json(data=asyncio.run(main()))


@leave_app.command("export")
def leave_export(
    year: Annotated[int, typer.Option(help="the year the decisions were made in", min=2000, max=2100)],
    region: Annotated[str | None, typer.Option(help="only this region (a pack id); all regions when omitted")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the CSV here instead of standard output")] = None,
) -> None:
    """Every leave granted, changed, deferred or refused in --year as CSV (columns in README.md)."""
    from deploy.bootstrap import open_pool
    from services.leave.export import leave_export as export_csv

    settings = _settings()

    async def main() -> str:
        pool = await open_pool(settings, name="leave-export")
        try:
            return await export_csv(pool, year=year, region=region)
        finally:
            await pool.close()

    text = asyncio.run(main())
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8", newline="")
        console.print(f"{max(0, len(text.splitlines()) - 1)} baris ditulis ke {out}")


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Rebuild every read model from the event store."""
    from deploy.bootstrap import open_pool
    from services.approvals.rebuild import rebuild_read_models

    settings = _settings()

    async def main() -> dict[str, object]:
        # As the schema owner when one is configured: it may rebuild indexes once instead of row by row.
        pool = await open_pool(settings, name="rebuild", as_owner=True)
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


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="a smoke run that finishes in under two minutes")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="write every figure here")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="latency and scaling chart (PNG)")] = None,
    only: Annotated[
        str | None,
        typer.Option(help="comma-separated scenarios to run: path, memory, append, verify, whatif (default: all)"),
    ] = None,
) -> None:
    """Measure Lentur beside its ceilings (bare Temporal, raw inserts, the eventsourcing library) in one run."""
    from deploy.bench.run import SCENARIOS, run_bench

    configure_logging("WARNING")
    chosen = frozenset(name.strip() for name in only.split(",") if name.strip()) if only else frozenset(SCENARIOS)
    if chosen - set(SCENARIOS):
        raise typer.BadParameter(f"choose from {', '.join(SCENARIOS)}", param_hint="--only")
    run_bench(quick=quick, json_path=json_out, plot_path=plot_out, console=console, only=chosen)


@policy_app.command("simulate")
def policy_simulate(
    draft: Path,
    from_: Annotated[str, typer.Option("--from", help="first requested date in the report (YYYY-MM-DD)")],
    to: Annotated[str, typer.Option("--to", help="last requested date in the report (YYYY-MM-DD)")],
    json_file: Annotated[Path | None, typer.Option("--json", help="write the full report as JSON here")] = None,
    region: Annotated[str | None, typer.Option(help="for a national draft: only this region")] = None,
    up_to_position: Annotated[int | None, typer.Option(help="read the store up to this position")] = None,
    limit: Annotated[int, typer.Option(help="changed requests shown in the table")] = 50,
) -> None:
    """Judge the recorded requests again under a draft pack and show what would change; writes nothing."""
    from services.whatif.commands import CommandFailed, simulate_command

    try:
        simulate_command(
            _settings(),
            console,
            draft_path=draft,
            start=from_,
            end=to,
            json_path=json_file,
            region=region,
            up_to_position=up_to_position,
            limit=limit,
        )
    except CommandFailed as failed:
        console.print(failed.message)
        raise typer.Exit(failed.exit_code) from failed


@policy_app.command("diff")
def policy_diff(
    pack_a: Path,
    pack_b: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Rule-by-rule differences between two packs, with the clause before and after."""
    from services.whatif.commands import CommandFailed, diff_command

    try:
        diff_command(console, a_path=pack_a, b_path=pack_b, as_json=as_json)
    except CommandFailed as failed:
        console.print(failed.message)
        raise typer.Exit(failed.exit_code) from failed


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Re-wrap every personal-data key under LENTUR_VAULT_SECRET (after a rotation; see the README)."""
    from deploy.bootstrap import open_pool
    from services.kernel.privacy import PersonalDataVault

    settings = _settings()

    async def rewrap() -> int:
        pool = await open_pool(settings, name="keys", max_size=2)
        try:
            previous = [old.get_secret_value() for old in settings.vault_previous_secrets]
            return await PersonalDataVault(pool, settings.vault_key_secret, previous=previous).rewrap()
        finally:
            await pool.close()

    console.print(f"kunci dibungkus ulang: {asyncio.run(rewrap())}")


@app.command()
def backup(
    file: Path,
    state_dir: Annotated[Path, typer.Option(help="the .lentur/ of the running lentur up")] = Path(".lentur"),
) -> None:
    """Back up the running `lentur up` here (Temporal, then the event store) into FILE, atomically."""
    from deploy.backup.manifest import BackupRefused
    from deploy.backup.take import take_backup

    configure_logging("WARNING")
    err = Console(stderr=True)
    try:
        result = take_backup(file, state_dir, Settings(), err)
    except BackupRefused as refused:
        err.print(f"[red]Cadangan ditolak — {refused.part}: {refused.reason}[/red]")
        raise typer.Exit(2) from refused
    m = result.manifest
    console.print(
        f"Cadangan tertulis: {result.path} ({result.size:,} bita, {result.seconds:.1f} detik); "
        f"{m.events} peristiwa sampai posisi {m.store_head}, {m.requests_in_flight} pengajuan berjalan. "
        "Peristiwa sesudah saat ini tidak ada di cadangan ini.",
        highlight=False,
    )


@app.command()
def restore(
    file: Path,
    check: Annotated[bool, typer.Option("--check", help="verify the file offline; restore nothing")] = False,
    force: Annotated[bool, typer.Option(help="replace a non-empty .lentur/")] = False,
    state_dir: Annotated[Path, typer.Option(help="where to restore")] = Path(".lentur"),
) -> None:
    """Restore a `lentur backup` file into .lentur/ here (or with --check, only verify it)."""
    from deploy.backup.manifest import BackupRefused
    from deploy.backup.restore import check_backup, restore_backup

    configure_logging("WARNING")
    err = Console(stderr=True)
    try:
        if check:
            console.print_json(data=check_backup(file, Settings()))
            return
        with err.status("Memulihkan…"):
            restored = restore_backup(file, state_dir, Settings(), force=force)
    except BackupRefused as refused:
        err.print(f"[red]Ditolak — bagian {refused.part}: {refused.reason}[/red]", highlight=False)
        raise typer.Exit(1 if check else 2) from refused
    console.print_json(data=restored.as_dict())
    console.print(
        f"Dipulihkan: {restored.events} peristiwa sampai posisi {restored.head}, "
        f"{restored.requests_in_flight} pengajuan berjalan. Jalankan `lentur up` di sini untuk melanjutkannya.",
        highlight=False,
    )


@app.command()
def reconcile(
    repair: Annotated[
        bool, typer.Option("--repair", help="re-send to the workflow the decisions the store holds and it lacks")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    state_dir: Annotated[Path, typer.Option(help="the .lentur/ of the running lentur up")] = Path(".lentur"),
) -> None:
    """Find requests whose workflow and event store disagree (after a restore); exit 0 only when all agree."""
    from deploy.backup.manifest import BackupRefused
    from deploy.backup.reconcile import reconcile as run_reconcile

    configure_logging("WARNING")
    err = Console(stderr=True)
    try:
        report = run_reconcile(state_dir, Settings(), err, repair=repair)
    except BackupRefused as refused:
        err.print(f"[red]Tidak dapat memeriksa — {refused.part}: {refused.reason}[/red]", highlight=False)
        raise typer.Exit(2) from refused
    if as_json:
        console.print_json(data=report.as_dict())
    else:
        _print_reconcile(report)
    if not report.all_ok:
        raise typer.Exit(1)


def _print_reconcile(report: Any) -> None:
    from deploy.backup.reconcile import LABELS

    shown = [f for f in report.findings if f.kind != "ok" or f.repair]
    if shown:
        table = Table(title="Pengajuan yang alur kerja dan penyimpanannya tidak sepakat")
        for column in ("Pengajuan", "Temuan", "Status (penyimpanan / alur kerja)", "Versi", "Keterangan"):
            table.add_column(column)
        for f in shown:
            versions = f"{f.store_version} / {'-' if f.workflow_version is None else f.workflow_version}"
            notes = []
            if f.missing:
                notes.append("belum diketahui alur kerja: " + ", ".join(f.missing))
            if f.detail:
                notes.append(f.detail)
            if f.repair:
                notes.append(f"perbaikan: {f.repair}")
            table.add_row(
                f.request_id,
                LABELS[f.kind],
                f"{f.store_status or '-'} / {f.workflow_status or '-'}",
                versions,
                "; ".join(notes),
            )
        console.print(table)
    counts = ", ".join(f"{n} {LABELS[kind]}" for kind, n in report.counts().items() if n)
    console.print(f"Diperiksa {len(report.findings)} pengajuan: {counts or 'tidak ada'}.", highlight=False)


def main() -> None:
    """The `lentur` command, ended by `exit_now` rather than interpreter teardown (see runtime/process_exit.py)."""
    from runtime.process_exit import exit_now, status_of

    try:
        app()
        status = 0
    except SystemExit as exit_:
        status = status_of(exit_)
    except KeyboardInterrupt:
        status = 130
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    exit_now(status)


if __name__ == "__main__":
    main()
