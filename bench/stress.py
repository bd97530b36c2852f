"""`python -m bench.stress [--quick] [--embedder hashing|real]`: the long hardening checks of
issue 13 against the real app (`assistant serve` and `assistant ingest` as subprocesses).

Phases:
1. kill -9 during ingest (×20, --quick ×3): each kill lands at a random moment while an
   ingest of a changed corpus holds the ingest lock; after every kill the running server
   still answers /api/ask and a fresh `assistant ask` process loads the on-disk index.
2. load: 10 clients (each from its own loopback address, so each has its own rate-limit
   bucket) send unique questions for 60 s (--quick 10 s); a client that gets 429 waits the
   Retry-After it was given, as a well-behaved client does.
3. burst: 100 connections (100 addresses) each send one question at the same moment;
   counted: answered, shed with 503/429, any other 5xx.
4. corpus edit: a line added at the top of a copied corpus document, re-ingest, restart;
   /api/ask, /api/instruments and /api/triage must answer 200, and /healthz is recorded.

Everything runs in a temporary copy of the corpus and temporary data directories; the
repository's data/ is never touched. The default embedder is the deterministic hashing one
(these phases test index switches, shedding and recovery, not the model; model latency is
`make bench`); `--embedder real` uses EMBEDDING_MODEL and needs a cold ingest of the corpus.
Results: bench/results/stress[-quick].json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from assistant.config import DEFAULT_MODEL_DIR
from bench.load import HOST, Server
from bench.questions import base_questions, stream
from bench.stats import summarize

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
ASSISTANT = Path(sys.executable).parent / "assistant"
QUESTION = "Wat is de Verzilverlening?"
REPORT = ("De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
          "Partijen vertrouwen elkaar niet meer. Wie kan ons helpen?")
KILL_DOC = "wonen-met-begeleiding.txt"
EDIT_DOC = "fase-4-uitvoering.txt"
EDIT_LINE = "Bijgewerkt na overleg met de corporaties en de gemeente (stresstest).\n"
READY_S = 240.0
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Plan:
    mode: str
    kills: int
    load_clients: int
    load_seconds: float
    burst: int


FULL = Plan("full", kills=20, load_clients=10, load_seconds=60.0, burst=100)
QUICK = Plan("quick", kills=3, load_clients=10, load_seconds=10.0, burst=100)


class StressFailed(RuntimeError):
    """A step that the next ones need did not work."""


class Workspace:
    """Temporary corpus and data directories and the environment of every subprocess."""

    def __init__(self, root: Path, embedder: str, runtime: str) -> None:
        self.root = root
        self.corpus = root / "corpus"
        shutil.copytree(ROOT / "corpus", self.corpus)
        self.data = root / "data"
        self.logs = root / "logs"
        self.logs.mkdir()
        model = "hashing:256" if embedder == "hashing" else os.environ.get(
            "EMBEDDING_MODEL", str(DEFAULT_MODEL_DIR))
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false",
                    "EMBEDDING_MODEL": model, "EMBEDDING_RUNTIME": runtime,
                    "DATA_DIR": str(self.data), "CORPUS_DIR": str(self.corpus),
                    "SQLITE_PATH": str(self.data / "app.sqlite"), "HOST": HOST,
                    "REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S)}
        self.env.pop("CHROMA_HOST", None)
        self._servers = 0

    def ingest(self) -> dict[str, Any]:
        done = subprocess.run([str(ASSISTANT), "ingest", "--json"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise StressFailed(f"ingest exit {done.returncode}: {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def server(self, **settings: str) -> Server:
        self._servers += 1
        env = {**self.env, **{k.upper(): v for k, v in settings.items()}}
        server = Server(ROOT, env, self.logs / f"server-{self._servers}.log")
        try:
            server.wait_ready(READY_S)
        except Exception:
            server.stop()
            raise
        return server

    def build(self) -> str | None:
        """The build the on-disk pointer names."""
        from assistant.config import Settings
        from assistant.store import read_pointer

        return read_pointer(Settings(data_dir=self.data, corpus_dir=self.corpus))

    def lock_held(self) -> bool:
        """Whether an ingest holds the ingest lock (tried without waiting, released at once)."""
        path = self.data / "index" / ".ingest.lock"
        if not path.exists():
            return False
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


def _ask_ok(base_url: str, question: str = QUESTION) -> tuple[bool, str]:
    try:
        response = httpx.post(f"{base_url}/api/ask", json={"question": question},
                              timeout=REQUEST_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}"
    return bool(response.json().get("citations")), "ok"


def _cli_ask_ok(ws: Workspace) -> tuple[bool, str]:
    """A fresh process loads the index from disk and answers with citations."""
    done = subprocess.run([str(ASSISTANT), "ask", "--json", QUESTION], cwd=ROOT, env=ws.env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return False, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    return bool(json.loads(done.stdout).get("citations")), "ok"


def _change_corpus(ws: Workspace, k: int) -> None:
    """Variant k of the corpus: one paragraph at the end of one document differs."""
    path = ws.corpus / KILL_DOC
    original = (ROOT / "corpus" / KILL_DOC).read_text(encoding="utf-8")
    path.write_text(original.rstrip("\n") + f"\n\nStresstest, versie {k}: deze alinea "
                    "verandert bij elke ingest, zodat er steeds een nieuwe index gebouwd "
                    "wordt.\n", encoding="utf-8")


def _timed_ingest(ws: Workspace) -> tuple[float, float]:
    """An uninterrupted ingest: (seconds until it held the lock, seconds it held it)."""
    started = time.monotonic()
    process = subprocess.Popen([str(ASSISTANT), "ingest", "--json"], cwd=ROOT, env=ws.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    locked_at = None
    while process.poll() is None:
        if locked_at is None and ws.lock_held():
            locked_at = time.monotonic()
        time.sleep(0.02)
    ended = time.monotonic()
    if process.returncode != 0:
        raise StressFailed(f"ingest exit {process.returncode}")
    locked_at = locked_at or ended
    return locked_at - started, ended - locked_at


def kill_phase(ws: Workspace, plan: Plan, rng: random.Random) -> dict[str, Any]:
    server = ws.server(rate_limit="off")
    try:
        ok, why = _ask_ok(server.base_url)
        if not ok:
            raise StressFailed(f"first /api/ask failed: {why}")
        _change_corpus(ws, 0)
        start_s, hold_s = _timed_ingest(ws)
        kills: list[dict[str, Any]] = []
        finished_first = 0
        version = 1
        while len(kills) < plan.kills and version < plan.kills * 3:
            _change_corpus(ws, version)
            version += 1
            delay = rng.uniform(0.0, hold_s * 0.95)
            process = subprocess.Popen([str(ASSISTANT), "ingest", "--json"], cwd=ROOT,
                                       env=ws.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 600
            while process.poll() is None and not ws.lock_held():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            before = ws.build()
            time.sleep(delay)
            if process.poll() is not None:
                finished_first += 1  # the ingest was quicker this time: not a kill
                continue
            process.kill()
            code = process.wait()
            served, served_why = _ask_ok(server.base_url)
            loaded, loaded_why = _cli_ask_ok(ws)
            switched = ws.build() != before
            kills.append({"after_lock_s": round(delay, 2), "exit": code,
                          "pointer": "new build (killed after the switch)" if switched
                          else "previous build",
                          "server_answers": served, "server": served_why,
                          "fresh_process_answers": loaded, "fresh_process": loaded_why})
            print(f"  kill {len(kills)}/{plan.kills} at +{delay:.2f} s: server "
                  f"{served_why}, fresh process {loaded_why}, "
                  f"{'new' if switched else 'previous'} build", flush=True)
        recovered = ws.ingest()
        after, after_why = _ask_ok(server.base_url)
    finally:
        server.stop()
    ok_count = sum(k["server_answers"] and k["fresh_process_answers"] for k in kills)
    return {
        "kills": len(kills), "planned": plan.kills, "ok": ok_count,
        "ingest_start_s": round(start_s, 2), "lock_held_s": round(hold_s, 2),
        "finished_before_kill": finished_first,
        "killed_before_switch": sum(k["pointer"] == "previous build" for k in kills),
        "recovery_ingest": recovered.get("status"), "ask_after_recovery": after_why,
        "details": kills,
    }


def _transport(address: str) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(local_address=address)


async def _load_client(base_url: str, address: str, bodies: list[dict[str, Any]],
                       deadline: float, statuses: Counter[str], latencies: list[float],
                       answered: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base_url, transport=_transport(address),
                                 timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:
        for body in bodies:
            if time.monotonic() >= deadline:
                return
            started = time.monotonic()
            try:
                response = await client.post("/api/ask", json=body)
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                continue
            statuses[str(response.status_code)] += 1
            if response.status_code == 200:
                latencies.append((time.monotonic() - started) * 1000)
                answered.append(time.monotonic())
            elif response.status_code in (429, 503):
                wait = float(response.headers.get("Retry-After", "1"))
                await asyncio.sleep(max(0.0, min(wait, deadline - time.monotonic())))


def _status_counts(statuses: Counter[str]) -> dict[str, Any]:
    other_5xx = sum(n for code, n in statuses.items() if code.startswith("5") and code != "503")
    return {"200": statuses.get("200", 0), "429": statuses.get("429", 0),
            "503": statuses.get("503", 0), "other_5xx": other_5xx,
            "transport_errors": sum(n for code, n in statuses.items() if not code.isdigit()),
            "all": dict(sorted(statuses.items()))}


async def load_phase(base_url: str, plan: Plan) -> dict[str, Any]:
    questions = base_questions()
    per_client = 100_000 // plan.load_clients
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    answered: list[float] = []
    started = time.monotonic()
    deadline = started + plan.load_seconds
    await asyncio.gather(*(
        _load_client(base_url, f"127.0.0.{11 + i}", stream(questions, i * per_client, per_client),
                     deadline, statuses, latencies, answered)
        for i in range(plan.load_clients)))
    window = max(time.monotonic(), deadline) - started
    return {"clients": plan.load_clients, "seconds": round(window, 1),
            "req_per_s": round(len(answered) / window, 2), "latency_ms": summarize(latencies),
            **_status_counts(statuses)}


async def burst_phase(base_url: str, plan: Plan) -> dict[str, Any]:
    """`plan.burst` clients connect first, then all send one unique question at once."""
    questions = stream(base_questions(), 500_000, plan.burst)
    clients = [httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False,
                                 transport=_transport(f"127.0.{1 + i // 200}.{1 + i % 200}"))
               for i in range(plan.burst)]
    statuses: Counter[str] = Counter()
    seconds: dict[str, list[float]] = {}
    gate = asyncio.Event()

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/healthz")  # the connection is open before the burst
        await gate.wait()
        started = time.monotonic()
        try:
            response = await client.post("/api/ask", json=body)
            code = str(response.status_code)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        statuses[code] += 1
        seconds.setdefault(code, []).append((time.monotonic() - started) * 1000)

    tasks = [asyncio.create_task(one(c, b)) for c, b in zip(clients, questions, strict=True)]
    await asyncio.sleep(2.0)
    gate.set()
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()
    shed = statuses.get("503", 0) + statuses.get("429", 0)
    return {"connections": plan.burst, "answered": statuses.get("200", 0), "shed": shed,
            "latency_ms_by_status": {code: summarize(v) for code, v in sorted(seconds.items())},
            **_status_counts(statuses)}


def edit_phase(ws: Workspace) -> dict[str, Any]:
    path = ws.corpus / EDIT_DOC
    path.write_text(EDIT_LINE + path.read_text(encoding="utf-8"), encoding="utf-8")
    report = ws.ingest()
    server = ws.server()
    try:
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S,
                          trust_env=False) as client:
            asked = client.post("/api/ask", json={"question": QUESTION})
            catalogue = client.get("/api/instruments")
            triage = client.post("/api/triage", json={"report": REPORT})
            health = client.get("/healthz").json()
            text = client.get(f"/api/documents/{path.stem}").json().get("text", "")
    finally:
        server.stop()
    sources = [s for e in (catalogue.json() if catalogue.status_code == 200 else [])
               for s in e.get("sources", []) if s.get("doc_id") == path.stem]
    exact = sum(text[s["start"]:s["end"]] == s["quote"] for s in sources)
    return {"document": EDIT_DOC, "ingest": report.get("status"),
            "ingest_problems": report.get("problems", []),
            "ask": asked.status_code, "ask_citations": len(asked.json().get("citations", []))
            if asked.status_code == 200 else 0,
            "instruments": catalogue.status_code, "triage": triage.status_code,
            "healthz": health.get("status"), "healthz_problems": health.get("problems", []),
            "sources_in_edited_document": len(sources), "sources_quote_exact": exact}


def run(plan: Plan, embedder: str, runtime: str, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    result: dict[str, Any] = {
        "mode": plan.mode, "embedder": embedder, "runtime": runtime, "seed": seed,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="wzw-stress-") as tmp:
        ws = Workspace(Path(tmp), embedder, runtime)
        print(f"stress ({plan.mode}, embedder {embedder}) in {tmp}", flush=True)
        first = ws.ingest()
        if first.get("status") != "built":
            raise StressFailed(f"first ingest: {first.get('status')}")
        print(f"1/4 kill -9 during ingest ×{plan.kills}", flush=True)
        result["kill"] = kill_phase(ws, plan, rng)
        server = ws.server()
        try:
            print(f"2/4 load: {plan.load_clients} clients × {plan.load_seconds:.0f} s",
                  flush=True)
            result["load"] = asyncio.run(load_phase(server.base_url, plan))
            print(f"3/4 burst: {plan.burst} connections at once", flush=True)
            result["burst"] = asyncio.run(burst_phase(server.base_url, plan))
            result["server_peak_rss_mb"] = server.memory_mb().get("VmHWM")
        finally:
            server.stop()
        print("4/4 corpus edit, re-ingest and restart", flush=True)
        result["edit"] = edit_phase(ws)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["verdicts"] = verdicts(result)
    return result


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    kill, load, burst, edit = result["kill"], result["load"], result["burst"], result["edit"]
    return {
        "kill: previous index answers after every kill": kill["kills"] > 0
        and kill["ok"] == kill["kills"],
        "load: no 5xx other than 503, no transport errors": load["other_5xx"] == 0
        and load["transport_errors"] == 0,
        "burst: every connection answered or shed, none other 5xx": burst["other_5xx"] == 0
        and burst["transport_errors"] == 0
        and burst["answered"] + burst["shed"] == burst["connections"],
        "edit: ask, instruments and triage 200 after restart": edit["ask"] == 200
        and edit["instruments"] == 200 and edit["triage"] == 200,
    }


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "–" if value is None else f"{value:.0f}"


def markdown(result: dict[str, Any]) -> str:
    kill, load, burst, edit = result["kill"], result["load"], result["burst"], result["edit"]
    lat = load["latency_ms"]
    lines = [
        f"# Woonzorgwijzer stress ({result['mode']}) — {result['started_at']}", "",
        f"Embedder {result['embedder']} ({result['runtime']}), {result['cpus']} CPUs, load "
        f"average {result['load_average']:.2f} at the start, {result['seconds']:.0f} s in all.",
        "", "| check | figure |", "|---|---|",
        f"| kill -9 during ingest | {kill['ok']}/{kill['kills']} kills with the previous index "
        f"answering (server and fresh process); ingest held the lock {kill['lock_held_s']} s "
        f"uninterrupted; {kill['killed_before_switch']} kills before the pointer switch, the "
        f"rest after it; {kill['finished_before_kill']} ingests finished before their kill; "
        f"afterwards ingest {kill['recovery_ingest']}, ask {kill['ask_after_recovery']} |",
        f"| {load['clients']} clients × {load['seconds']:.0f} s, unique questions | "
        f"{load['req_per_s']} req/s answered, p50/p95/p99 {_ms(lat, 'p50')}/{_ms(lat, 'p95')}/"
        f"{_ms(lat, 'p99')} ms; 200: {load['200']}, 429: {load['429']}, 503: {load['503']}, "
        f"other 5xx: {load['other_5xx']}, transport errors: {load['transport_errors']} |",
        f"| {burst['connections']} simultaneous connections | {burst['answered']} answered, "
        f"{burst['shed']} shed (503: {burst['503']}, 429: {burst['429']}), other 5xx: "
        f"{burst['other_5xx']}, transport errors: {burst['transport_errors']} |",
        f"| corpus edit ({edit['document']}, a line at the top) + restart | ingest "
        f"{edit['ingest']}; /api/ask {edit['ask']}, /api/instruments {edit['instruments']}, "
        f"/api/triage {edit['triage']}; /healthz {edit['healthz']}; sources in the edited "
        f"document quoted exactly {edit['sources_quote_exact']}/"
        f"{edit['sources_in_edited_document']} |",
        "", "| verdict | result |", "|---|---|",
    ]
    lines += [f"| {name} | {'PASS' if ok else 'FAIL'} |"
              for name, ok in result["verdicts"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="kill ×3, 10 s load")
    parser.add_argument("--embedder", choices=("hashing", "real"), default="hashing")
    parser.add_argument("--runtime", choices=("torch", "onnx", "onnx-int8"), default="torch")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    try:
        result = run(plan, args.embedder, args.runtime, args.seed)
    except StressFailed as exc:
        print(f"stress stopped: {exc}", file=sys.stderr)
        return 2
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = "stress-quick" if args.quick else "stress"
    (RESULTS_DIR / f"{name}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    text = markdown(result)
    (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {RESULTS_DIR / (name + '.json')} and .md")
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
