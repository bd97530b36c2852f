"""Command line: `python -m evals run|validate|gate`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from evals.datasets import DATA_DIR, SETS, load_corpus_texts, validate_files  # noqa: E402
from evals.gate import THRESHOLDS_PATH, check, load_thresholds, render  # noqa: E402
from evals.report import headline_tables, write_reports  # noqa: E402
from evals.runner import (  # noqa: E402
    CONFIGS,
    PRODUCT,
    REPORTS_DIR,
    ConfigError,
    RunOptions,
    run_evaluation,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate configurations and write the reports")
    run.add_argument("--set", dest="question_set", choices=SETS, default="dev")
    run.add_argument("--config", dest="configs", nargs="+", choices=CONFIGS,
                     help=f"default: all ({', '.join(CONFIGS)}); with --base-url: {PRODUCT}")
    run.add_argument("--base-url", help="evaluate a running server instead of in-process")
    run.add_argument("--out", type=Path, default=REPORTS_DIR)
    run.add_argument("--top-k", type=int, default=5)
    run.add_argument("--limit", type=int, help="only the first N items of each set")

    validate = commands.add_parser("validate", help="check the gold data against the corpus")
    validate.add_argument("--corpus", type=Path, help="default: the configured corpus_dir")

    gate = commands.add_parser("gate", help="fail when the product falls below its floors")
    gate.add_argument("--base-url", help="evaluate a running server instead of in-process")
    gate.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH)
    gate.add_argument("--out", type=Path, default=REPORTS_DIR / "gate")
    return parser


def _run(args: argparse.Namespace) -> int:
    configs = args.configs or ([PRODUCT] if args.base_url else list(CONFIGS))
    options = RunOptions(question_set=args.question_set, configs=configs,
                         base_url=args.base_url, top_k=args.top_k, limit=args.limit)
    report = run_evaluation(options)
    paths = write_reports(report, args.out)
    print(headline_tables(report))
    print("\nwritten: " + ", ".join(str(p) for p in paths))
    return 0


def _validate(args: argparse.Namespace) -> int:
    if args.corpus is None:
        from assistant.config import Settings

        args.corpus = Settings().corpus_dir
    problems, counts = validate_files(DATA_DIR, load_corpus_texts(args.corpus))
    for problem in problems:
        print(problem)
    summary = (f"{counts['questions']} questions, {counts['triage']} triage reports, "
               f"{counts['gold_quotes']} gold quotes")
    print(f"{len(problems)} problem(s) in {summary}" if problems else f"ok: {summary}")
    return 1 if problems else 0


def _gate(args: argparse.Namespace) -> int:
    thresholds = load_thresholds(args.thresholds)
    options = RunOptions(question_set=thresholds["set"], configs=[thresholds["config"]],
                         base_url=args.base_url)
    report = run_evaluation(options)
    write_reports(report, args.out)
    checks = check(report, thresholds)
    print(headline_tables(report))
    print()
    print(render(checks))
    failed = [c for c in checks if not c.passed]
    print(f"\ngate {'FAILED' if failed else 'passed'}: {len(checks) - len(failed)}/{len(checks)}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    try:
        handler = {"run": _run, "validate": _validate, "gate": _gate}[args.command]
        return handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
