"""`benzo-cds`: serve, evaluate, review, feedback-report, handout-pdf, db, demo, fhir-server."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import date

# Exit status of a command whose output pipe closed early (128 + SIGPIPE), as Unix tools do.
EXIT_BROKEN_PIPE = 141


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.observability.metrics_workers import metrics_shared_by_workers
    from app.settings_check import checked_settings

    # Refuse here, before uvicorn starts workers: one line per problem, exit 2.
    checked_settings(host=args.host)
    with metrics_shared_by_workers(args.workers):
        uvicorn.run(
            "app.main:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            proxy_headers=args.proxy_headers,
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from app.cli.evaluate import run_evaluate

    return run_evaluate(
        args.directory,
        date_arg=args.date,
        as_json=args.json,
        bulk={
            "out": args.out,
            "engine": args.engine,
            "workers": args.workers,
            "reveal_ids": args.reveal_ids,
            "shortcuts": not args.no_shortcuts,
        },
    )


def _review(args: argparse.Namespace) -> int:
    from app.cli.review import run_review

    return asyncio.run(run_review(args))


def _feedback_report(args: argparse.Namespace) -> int:
    from app.cli.report import run_report

    return asyncio.run(run_report(as_json=args.json))


def _handout_pdf(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.planner.pdf import PdfError, handout_pdf

    try:
        out = handout_pdf(args.link, Path(args.output), paper=args.paper, chromium=args.chromium)
    except PdfError as error:
        print(f"handout-pdf: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0


def _db(args: argparse.Namespace) -> int:
    from app.cli.db import run_db

    return asyncio.run(run_db(args.db_command, check=getattr(args, "check", False)))


def _today(args: argparse.Namespace) -> date:
    from app.config import get_settings

    return date.fromisoformat(args.date) if args.date else get_settings().today()


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.api.preview import fixtures_dir
    from app.cli.demo import run_demo

    folder = Path(args.fixtures) if args.fixtures else fixtures_dir()
    return run_demo(
        args.fixture, url=args.url, print_only=args.print, fixtures=folder, day=_today(args)
    )


def _fhir_server(args: argparse.Namespace) -> int:
    from app.cli.fhir_server import run_fhir_server

    return run_fhir_server(
        args.directory, port=args.port, day=_today(args), as_of=args.as_of, shift=not args.no_shift
    )


def _iso_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


def _evaluation_date(value: str) -> str:
    """`evaluate --date`: YYYY-MM-DD, 'today' or 'latest'."""
    if value in ("today", "latest"):
        return value
    try:
        return _iso_date(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not YYYY-MM-DD, 'today' or 'latest'"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benzo-cds", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the CDS Hooks service with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--proxy-headers", action="store_true", help="trust X-Forwarded-* from a reverse proxy"
    )
    serve.set_defaults(func=_serve)

    evaluate = sub.add_parser(
        "evaluate",
        help="run all rules over a folder of FHIR bundles, "
        "or over a Bulk FHIR export (NDJSON): a population dry run",
    )
    evaluate.add_argument("directory")
    evaluate.add_argument(
        "--date",
        default="latest",
        type=_evaluation_date,
        help="evaluation date YYYY-MM-DD, 'today', or 'latest' (each "
        "patient's latest recorded date; default)",
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of tables")
    dry_run = evaluate.add_argument_group(
        "Bulk FHIR export (a folder of NDJSON files): population dry run"
    )
    dry_run.add_argument(
        "--out",
        default="benzo-dry-run",
        help="folder for dry-run.csv, dry-run.html, dry-run.json (default ./benzo-dry-run)",
    )
    dry_run.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local: all cores of this machine; spark: PySpark (pip install '.[spark]')",
    )
    dry_run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes (local) or local Spark threads (default: all cores)",
    )
    dry_run.add_argument(
        "--reveal-ids",
        action="store_true",
        help="write real patient ids in the CSV instead of keyed hashes",
    )
    dry_run.add_argument(
        "--no-shortcuts",
        action="store_true",
        help="read every patient with the lenient reader and build every "
        "card in full, as the hook's lenient path does, instead of the "
        "typed reader and rules' verdicts: the same results, several "
        "times slower (to check the fast path)",
    )
    evaluate.set_defaults(func=_evaluate)

    review = sub.add_parser("review", help="gather a patient from a FHIR server and show cards")
    review.add_argument("--fhir-server", required=True)
    review.add_argument("--patient", required=True)
    review.add_argument(
        "--hook", default="patient-view", choices=["patient-view", "order-select", "order-sign"]
    )
    review.add_argument("--token", help="bearer token for the FHIR server")
    review.add_argument(
        "--draft-order",
        action="append",
        default=[],
        help="JSON file with a draft MedicationRequest (or a Bundle of them)",
    )
    review.add_argument("--date", help="evaluation date YYYY-MM-DD (default today)")
    review.add_argument("--json", action="store_true", help="print the CDS Hooks response JSON")
    review.set_defaults(func=_review)

    report = sub.add_parser("feedback-report", help="acceptance and override rates per rule")
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=_feedback_report)

    pdf = sub.add_parser(
        "handout-pdf", help="print the patient's taper handout to PDF (headless Chromium)"
    )
    pdf.add_argument("link", help="the taper card's planner link, or its query string")
    pdf.add_argument("-o", "--output", default="taper-handout.pdf")
    pdf.add_argument(
        "--paper", choices=["a4", "letter"], help="paper size (default: Letter, Chromium's default)"
    )
    pdf.add_argument("--chromium", help="path to the Chromium binary (default: on PATH)")
    pdf.set_defaults(func=_handout_pdf)

    db = sub.add_parser("db", help="database schema (Alembic migrations)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the schema to this release")
    current = db_sub.add_parser("current", help="show the schema revision")
    current.add_argument(
        "--check", action="store_true", help="exit 1 when the schema is behind this release"
    )
    db.set_defaults(func=_db)

    demo = sub.add_parser(
        "demo", help="send the bundled hook fixtures, dates moved to today, to a running service"
    )
    demo.add_argument(
        "fixture", nargs="*", help="fixture names (e.g. patient-view-overlap); default: all"
    )
    demo.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="the service's base URL (default %(default)s)",
    )
    demo.add_argument(
        "--print",
        action="store_true",
        help="print the one named request (dates moved) instead of sending it",
    )
    demo.add_argument(
        "--date", type=_iso_date, help="move the dates to this day instead of today (YYYY-MM-DD)"
    )
    demo.add_argument(
        "--fixtures",
        help="fixtures folder (default: BENZO_CDS_FIXTURES_DIR or the checkout's fhir_fixtures/)",
    )
    demo.set_defaults(func=_demo)

    fhir = sub.add_parser(
        "fhir-server",
        help="serve a folder of FHIR bundles as a read-only FHIR R4 server "
        "on loopback, dates moved to today",
    )
    fhir.add_argument("directory", help="folder of FHIR Bundle JSON files (one per patient)")
    fhir.add_argument("--port", type=int, default=8090)
    fhir.add_argument(
        "--date", type=_iso_date, help="move the dates to this day instead of today (YYYY-MM-DD)"
    )
    fhir.add_argument(
        "--as-of",
        type=_iso_date,
        help="the day the bundles describe (default: manifest.csv's as_of, "
        "else each bundle's latest clinical date)",
    )
    fhir.add_argument("--no-shift", action="store_true", help="serve the dates as written")
    fhir.set_defaults(func=_fhir_server)
    return parser


def _config_problems(command: str) -> int | None:
    """Exit 2 with one line per problem when the settings cannot be read; warn on stray names."""
    from app.settings_check import ConfigError, all_warnings, load_settings

    if command == "serve":  # serve refuses with its own lines and the service logs warnings
        return None
    try:
        load_settings()
    except ConfigError as error:
        for line in error.lines:
            print(f"benzo-cds {command}: {line}", file=sys.stderr)
        return 2
    for warning in all_warnings(os.environ):
        print(f"benzo-cds {command}: warning: {warning}", file=sys.stderr)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        problem = _config_problems(args.command)
        if problem is not None:
            return problem
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader (`| head`) has gone: stop quietly, and keep Python's exit-time flush of
        # stdout from printing a second error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
