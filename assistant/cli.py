"""Command line: `assistant ingest|ask|serve|instruments|triage|user`."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from assistant.config import Settings, get_settings

CONNECTION_LIMIT = 512


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import run_ingest

    paths = [Path(p) for p in args.paths] or None
    report = run_ingest(settings, paths, show_progress=not args.json)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary())
        print(f"Rapport: {settings.index_root / 'last-ingest.json'}")
    return report.exit_code


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from assistant.schemas import AskRequest
    from assistant.service import InvalidRequest, UnknownDocument, build_assistant

    try:
        request = AskRequest(question=args.question, top_k=args.top_k, doc_ids=args.doc or None)
        response = build_assistant(settings).ask(request)
    except ValidationError as exc:
        print("Fout: " + "; ".join(str(e["msg"]) for e in exc.errors()), file=sys.stderr)
        return 2
    except (InvalidRequest, UnknownDocument) as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(response.model_dump())
        return 0
    print(response.answer)
    if response.citations:
        print("\nBronnen:")
        for citation in response.citations:
            print(
                f"[{citation.n}] {citation.title} — {citation.section} "
                f"(tekens {citation.start}–{citation.end})"
            )
    for instrument in response.instruments:
        mark = "past" if instrument.fits else "past niet"
        print(f"\nInstrument: {instrument.name} ({mark}): {instrument.why}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from assistant.api import create_app
    from assistant.api.logs import UVICORN_LOG_CONFIG, configure_logging

    configure_logging(settings.log_level)
    serving = settings.model_copy(update={"model_threads": settings.serve_threads})
    uvicorn.run(
        create_app(serving),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        log_config=UVICORN_LOG_CONFIG,
        access_log=False,  # the app writes its own, redacted, JSON access log
        # far above what the model-work queue admits: overload is shed there, in Dutch,
        # while cheap routes (health, documents, metrics) keep answering
        limit_concurrency=CONNECTION_LIMIT,
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
    )
    return 0


def _read_password(confirm: bool = True) -> str:
    """From the terminal (asked twice), or the first line of standard input in scripts."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Wachtwoord: ")
    if confirm and getpass.getpass("Nogmaals: ") != first:
        raise ValueError("De wachtwoorden zijn niet gelijk.")
    return first


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.storage.users import AccountError, UserStore

    users = UserStore(settings.sqlite_path, settings.session_hours)
    try:
        if args.action == "add":
            name = users.add(args.name, _read_password())
            print(f"Account {name} aangemaakt.")
        elif args.action == "password":
            users.set_password(args.name, _read_password())
            print(f"Wachtwoord van {args.name} gewijzigd; open sessies zijn beëindigd.")
        elif args.action == "remove":
            if not users.remove(args.name):
                print(f"Fout: er is geen account {args.name}.", file=sys.stderr)
                return 2
            print(f"Account {args.name} verwijderd.")
        elif args.action == "token":
            token, expires = users.create_token(args.name, args.days)
            print(token)
            print(f"Geldig tot {expires}. Gebruik: Authorization: Bearer <token>. "
                  "Het token wordt niet nog eens getoond.", file=sys.stderr)
        else:
            for row in users.list():
                print(f"{row['name']}\taangemaakt {row['created_at']}\t"
                      f"laatst ingelogd {row['last_login'] or '-'}")
    except (AccountError, ValueError) as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_instruments(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.instruments import format_catalogue
    from assistant.service import build_assistant

    assistant = build_assistant(settings)
    if args.json:
        _print_json(assistant.catalogue_entries())
    else:
        print(format_catalogue(assistant.catalogue()))
    return 0


def cmd_triage(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import HelpDesk, InvalidRequest, build_assistant

    try:
        item = HelpDesk(settings, build_assistant(settings)).submit(args.report)
    except InvalidRequest as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(item.model_dump())
        return 0
    print(f"Melding {item.id} ({'URGENT' if item.urgent else 'niet urgent'}), fase: {item.fase}")
    print("Thema's: " + ", ".join(f"{t.label} ({t.score:.2f})" for t in item.themes))
    for support in item.support:
        print(f"Ondersteuning: {support.name} — {support.why}")
    for similar in item.similar:
        print(f"Vergelijkbaar: {similar.title}")
    print(f"Tekst zonder persoonsgegevens: {item.redacted_report}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Woonzorgwijzer")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="documenten inlezen en de index bouwen")
    ingest.add_argument("paths", nargs="*", help="bestanden of mappen (standaard: corpus/)")
    ingest.add_argument("--json", action="store_true", help="rapport als JSON")
    ingest.set_defaults(func=cmd_ingest)
    ask = sub.add_parser("ask", help="een vraag stellen zonder server")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--top-k", type=int, default=5)
    ask.add_argument("--doc", action="append", help="alleen in dit document zoeken")
    ask.set_defaults(func=cmd_ask)
    serve = sub.add_parser("serve", help="API en chatpagina starten")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    instruments = sub.add_parser("instruments", help="financiële instrumenten en ondersteuning")
    instruments.add_argument("--json", action="store_true")
    instruments.set_defaults(func=cmd_instruments)
    triage = sub.add_parser("triage", help="een melding van een knelpunt beoordelen")
    triage.add_argument("report")
    triage.add_argument("--json", action="store_true")
    triage.set_defaults(func=cmd_triage)
    user = sub.add_parser("user", help="accounts van medewerkers (triagedesk, exports)")
    user_sub = user.add_subparsers(dest="action", required=True)
    for action, text in (("add", "account aanmaken (wachtwoord wordt gevraagd of van stdin)"),
                         ("password", "wachtwoord wijzigen"), ("remove", "account verwijderen"),
                         ("token", "API-token voor scripts maken")):
        command = user_sub.add_parser(action, help=text)
        command.add_argument("name")
        if action == "token":
            command.add_argument("--days", type=float, default=90.0, help="geldigheid")
    user_sub.add_parser("list", help="accounts tonen")
    user.set_defaults(func=cmd_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    from assistant.api.logs import EscapingFormatter
    from assistant.privacy import install_log_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    install_log_redaction()
    from assistant.embedder import ModelUnavailable
    from assistant.store import IndexMissing, IndexModelMismatch

    try:
        result: int = args.func(args, settings)
    except (IndexMissing, IndexModelMismatch, ModelUnavailable) as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
