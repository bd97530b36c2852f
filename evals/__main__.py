"""Command line: `python -m evals run|validate|gate|diff`."""

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

from evals.client import RetryPolicy  # noqa: E402
from evals.datasets import NAMED_SETS  # noqa: E402
from evals.documents import Layout  # noqa: E402
from evals.gate import THRESHOLDS_PATH, check, failures, load_thresholds, render  # noqa: E402
from evals.records import list_runs, read_items, resolve_run  # noqa: E402
from evals.report import headline_tables, write_reports  # noqa: E402
from evals.runner import (  # noqa: E402
    CONFIGS,
    GENERATORS,
    PRODUCT,
    REPORTS_DIR,
    ConfigError,
    RunOptions,
    run_evaluation,
)
from evals.stats import RESAMPLES, SEED  # noqa: E402


def _sets(values: Sequence[str]) -> list[str]:
    """`--set a b`, `--set a --set b` and `--set a,b` all mean the sets a and b."""
    return [part for value in values for part in value.split(",") if part]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate configurations on sets; write the reports")
    run.add_argument("--set", dest="sets", action="extend", nargs="+", metavar="SET",
                     help=f"{'|'.join(NAMED_SETS)}|PATH (a JSONL file); repeatable; "
                          "default: tune holdout generalisation")
    run.add_argument("--config", dest="configs", nargs="+", choices=CONFIGS,
                     help=f"default: all ({', '.join(CONFIGS)}); with --base-url: {PRODUCT}")
    run.add_argument("--generator", dest="generators", action="extend", nargs="+",
                     choices=GENERATORS, metavar="GENERATOR",
                     help=f"{'|'.join(GENERATORS)}; the product ({PRODUCT}) also runs with each "
                          "generator other than extractive, through POST /api/ask/stream "
                          "(local: LLM_MODEL_PATH; openai: OPENAI_BASE_URL, OPENAI_MODEL, "
                          "OPENAI_API_KEY; with --base-url the server must run that generator); "
                          "extractive always runs; default: extractive")
    run.add_argument("--baselines-on", dest="baseline_sets", action="extend", nargs="+",
                     metavar="SET", help="run the configurations other than the product only on "
                                         "these sets (default: on every set)")
    run.add_argument("--base-url", help="evaluate a running server instead of in-process")
    run.add_argument("--http-triage", action="store_true",
                     help="with --base-url, also post triage reports to the server (they land "
                          "in its queue); by default triage is scored in-process")
    run.add_argument("--out", type=Path, default=REPORTS_DIR)
    run.add_argument("--top-k", type=int, default=5)
    run.add_argument("--limit", type=int, help="only the first N items of each set")
    run.add_argument("--seed", type=int, default=SEED,
                     help="configuration order and bootstrap resampling")
    run.add_argument("--order", choices=("seeded", "given"), default="seeded",
                     help="configuration order per set: seeded shuffle, or as given")
    run.add_argument("--resamples", type=int, default=RESAMPLES)
    run.add_argument("--max-wait", type=float, default=60.0,
                     help="seconds one request may wait out 429/503 (Retry-After) in total")
    run.add_argument("--cache-dir", type=Path,
                     help="cached evaluation indexes (default ~/.cache/woonzorgwijzer/eval-index)")

    validate = commands.add_parser("validate", help="check gold data files (schema, quotes)")
    validate.add_argument("paths", nargs="*", type=Path,
                          help="JSONL files; default: everything under evals/data and "
                               "evals/generalisation")

    gate = commands.add_parser("gate", help="fail when the product misses its thresholds")
    gate.add_argument("--base-url", help="evaluate a running server instead of in-process")
    gate.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH)
    gate.add_argument("--out", type=Path, default=REPORTS_DIR / "gate")
    gate.add_argument("--cache-dir", type=Path)

    diff = commands.add_parser("diff", help="items that got better or worse between two runs")
    diff.add_argument("runs", nargs="*", metavar="RUN",
                      help="run folders or timestamps; one RUN: against the latest run; "
                           "none: the last two runs")
    diff.add_argument("--runs-dir", type=Path, default=REPORTS_DIR / "runs")
    diff.add_argument("--out", type=Path, default=REPORTS_DIR / "diffs")
    diff.add_argument("--metric", dest="metrics", nargs="+", help="only these metrics")
    diff.add_argument("--set", dest="sets", action="extend", nargs="+", metavar="SET")
    diff.add_argument("--show-sealed", action="store_true",
                      help="also list the items of holdout and generalisation")
    return parser


def _run(args: argparse.Namespace) -> int:
    configs = args.configs or ([PRODUCT] if args.base_url else list(CONFIGS))
    options = RunOptions(
        sets=_sets(args.sets or ["tune", "holdout", "generalisation"]), configs=configs,
        generators=["extractive", *(g for g in dict.fromkeys(args.generators or [])
                                    if g != "extractive")],
        base_url=args.base_url, top_k=args.top_k, limit=args.limit, seed=args.seed,
        order=args.order, resamples=args.resamples, http_triage=args.http_triage,
        baseline_sets=_sets(args.baseline_sets) if args.baseline_sets else None,
        retry=RetryPolicy(max_total_wait_s=args.max_wait), cache_dir=args.cache_dir,
    )
    report = run_evaluation(options)
    paths = write_reports(report, args.out)
    print(headline_tables(report))
    print("\nwritten: " + ", ".join(str(p) for p in paths))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from evals.validate import default_paths, validate_paths

    layout = Layout()
    paths = args.paths or default_paths(layout)
    result = validate_paths(paths, layout)
    for problem in result.problems:
        print(problem)
    print(f"{len(result.problems)} problem(s) in {result.summary()}" if result.problems
          else f"ok: {result.summary()}")
    return 1 if result.problems else 0


def _gate(args: argparse.Namespace) -> int:
    thresholds = load_thresholds(args.thresholds)
    options = RunOptions(sets=[thresholds["set"]], configs=[thresholds["config"]],
                         base_url=args.base_url, cache_dir=args.cache_dir)
    report = run_evaluation(options)
    write_reports(report, args.out)
    checks = check(report, thresholds)
    print(headline_tables(report))
    print()
    print(render(checks))
    failed = [c for c in checks if not c.passed]
    if failed:
        print("\n" + failures(checks))
    print(f"\ngate on {thresholds['set']} {'FAILED' if failed else 'passed'}: "
          f"{len(checks) - len(failed)}/{len(checks)} bounds met")
    return 1 if failed else 0


def _diff(args: argparse.Namespace) -> int:
    from evals.diff import diff_items, render_markdown, write_diff

    if len(args.runs) > 2:
        raise ConfigError("diff compares two runs")
    recorded = list_runs(args.runs_dir)
    if len(args.runs) == 2:
        run_a, run_b = (resolve_run(r, args.runs_dir) for r in args.runs)
    elif len(args.runs) == 1:  # that run against the latest
        if not recorded:
            raise ConfigError(f"no recorded runs in {args.runs_dir}")
        run_a, run_b = resolve_run(args.runs[0], args.runs_dir), recorded[-1]
    elif len(recorded) < 2:
        raise ConfigError(f"need two recorded runs in {args.runs_dir}, found {len(recorded)}")
    else:
        run_a, run_b = recorded[-2], recorded[-1]
    result = diff_items(read_items(run_a), read_items(run_b), run_a.name, run_b.name,
                        args.metrics, _sets(args.sets or []), args.show_sealed)
    print(render_markdown(result))
    md_path, html_path = write_diff(result, args.out)
    print(f"written: {md_path}, {html_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "assistant", "ingest", "chromadb", "bm25s",
                  "woonzorgwijzer", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    try:
        handler = {"run": _run, "validate": _validate, "gate": _gate, "diff": _diff}
        return handler[args.command](args)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
