"""Fuzz the untrusted edges: model answers through the parser and the whole graph, random CLI invocations.

    OMP_NUM_THREADS=1 python bench/bench_fuzz.py [--parser 100000] [--graph 2000] [--cli 1000] [--seed 0]

1. ``--parser N`` hypothesis-generated answers (free text, JSON-ish soup, tag soup, well-formed answers with
   wild numbers, mutated well-formed answers) through `agent.parsing.parse_answer` in both stages and both
   readings: no exception may escape; counts of usable answers and of each failure code are reported.
2. ``--graph N`` of the same answers as the policy's replies of whole runs (`agent.run.run_query`: localize,
   the classical segmenter, render, refine) on a 64 px scene: no crash; format failures counted.
3. ``--cli N`` random invocations of the real ``socio`` entry point (`socioagent.cli.main`, in this process
   with ``sys.argv`` set, so every flag parse, validation and error path is the shipped one): a command from
   the real command tree (`socioagent.flags.command_flags`), a random subset of its real flags with values
   drawn for each flag's type (missing, wrong type, out of range, real files and folders). Every run must end
   in an exit code (SystemExit); any other exception is a traceback and is listed. Commands that
   serve forever, read a terminal or download (mcp, serve, chat, models pull) are left out; ``socio synth`` is
   capped to small values.

Prints one JSON document: counts and wall times (the machine is noted).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import platform
import random
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

WEIRD = ["NaN", "Infinity", "-1e999", '"12"', "null", "true", "-0", "1e-400", "12.5.3", '"x"', "[]", "{}", "0x1F"]
SOUP = st.text(alphabet=list("[]{}(),:\"' \n0123456789.-eE<>/abnoxdtrupisNTFl_"), max_size=300)
PIECES = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "```json",
    "```",
    "[",
    "]",
    "{",
    "}",
    '"bbox_2d":',
    '"point_2d":',
    "[1, 2, 30, 40]",
    ",",
    "NaN",
    "1e999",
    "<|im_end|>",
    "'",
    '"',
    ":",
    "label",
    "\n",
]
TAGS = st.binary(max_size=40).map(lambda bs: "".join(PIECES[i % len(PIECES)] for i in bs))


KEYS = ["bbox_2d", "bbox", "box", "bbox_2D"]
EDITS = ["cut", "del", "dup", "quote"]


def build_wellformed(data: bytes, think: str) -> str:
    """Build a well-formed answer from hypothesis bytes, then spoil it a little as the bytes say.

    The bytes are read as a program: item count, box lengths and values (scaled to -50..2000), a key, numbers
    replaced by what a model might write instead (`WEIRD`), then character edits (cut, delete, duplicate,
    quote swap). One ``binary`` draw per answer keeps generation fast (a composite of many small draws costs
    ~15 ms an answer here).
    """
    b = list(data) or [0]
    at = 0

    def nxt() -> int:
        nonlocal at
        at += 1
        return b[(at - 1) % len(b)]

    items = []
    key = KEYS[nxt() % len(KEYS)]
    for _ in range(nxt() % 9):
        items.append({key: [nxt() * 8 - 50 for _ in range(nxt() % 6)]})
    if items and nxt() % 2:
        items[0]["points"] = [[nxt() * 8, nxt() * 8] for _ in range(nxt() % 4)]
        items[0]["labels"] = [nxt() % 2 for _ in items[0]["points"]]
    body = json.dumps(items)
    for _ in range(nxt() % 4):
        nums = [i for i, c in enumerate(body) if c.isdigit() and (i == 0 or not body[i - 1].isdigit())]
        if not nums:
            break
        i = j = nums[nxt() % len(nums)]
        while j < len(body) and body[j].isdigit():
            j += 1
        body = body[:i] + WEIRD[nxt() % len(WEIRD)] + body[j:]
    chars = list(f"<think>{think}</think><answer>{body}</answer>")
    for _ in range(nxt() % 5 if nxt() % 2 else 0):
        if not chars:
            break
        i, op = (nxt() * 256 + nxt()) % len(chars), EDITS[nxt() % len(EDITS)]
        if op == "cut":
            chars = chars[:i]
        elif op == "del":
            del chars[i]
        elif op == "dup":
            chars.insert(i, chars[i])
        elif chars[i] == '"':
            chars[i] = "'"
    return "".join(chars)


def wellformed() -> st.SearchStrategy[str]:
    """Well-formed answers with wild numbers and a few edits (see `build_wellformed`)."""
    return st.builds(build_wellformed, st.binary(max_size=96), st.text(max_size=30))


ANSWERS = st.one_of(st.text(max_size=300), SOUP, TAGS, wellformed())


def collect(n: int, seed: int) -> list[str]:
    """Return ``n`` answers drawn by hypothesis (generation only: no shrinking, no database)."""
    out: list[str] = []

    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @hypothesis_seed(seed)
    @given(text=ANSWERS)
    def draw(text: str) -> None:
        out.append(text)

    draw()
    return out


def fuzz_parser(answers: list[str]) -> dict:
    from agent.parsing import parse_answer

    counts: collections.Counter[str] = collections.Counter()
    crashes = []
    t0 = time.perf_counter()
    for k, text in enumerate(answers):
        stage = "localize" if k % 2 == 0 else "refine"
        for strict in (False, True):
            try:
                p = parse_answer(text, stage, (756.0, 756.0), strict=strict)
            except Exception as e:  # the parser promises never to raise on its input
                crashes.append(f"{type(e).__name__}: {e} on {text[:80]!r}")
                continue
            key = "strict" if strict else "lenient"
            counts[f"{key}:{'ok' if p.ok else p.failure}"] += 1
    return {"answers": len(answers), "parses": 2 * len(answers), "crashes": len(crashes), "crash_examples": crashes[:5],
            "seconds": round(time.perf_counter() - t0, 2), "counts": dict(sorted(counts.items()))}  # fmt: skip


def fuzz_graph(answers: list[str]) -> dict:
    import numpy as np

    from agent.policies import BasePolicy, PolicyReply, PolicyRequest, ReplyMeta
    from agent.run import run_query
    from tools.coords import ModelFrame
    from tools.scene import Scene
    from tools.scene_store import SceneStore
    from tools.segmenters import make_segmenter

    class Scripted(BasePolicy):
        name = "fuzz"

        def __init__(self) -> None:
            self.queue: list[str] = []

        def _next(self, request: PolicyRequest) -> PolicyReply:
            text = self.queue.pop() if self.queue else ""
            return PolicyReply(text=text, frame=ModelFrame("pixel"), prompt="fuzz", latency_s=0.0,
                               meta=ReplyMeta(policy="fuzz"))  # fmt: skip

        localize = refine = _next

    rng = np.random.default_rng(0)
    sat = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    scene = Scene(scene_id="fuzz", sat=sat, map=np.full_like(sat, 240))
    policy, segmenter, store = Scripted(), make_segmenter("classical"), SceneStore(max_scenes=2)
    crashes, runs, failures, instances = [], 0, 0, 0
    t0 = time.perf_counter()
    for k in range(0, len(answers) - 1, 2):
        policy.queue = [answers[k + 1], answers[k]]  # localize pops answers[k], refine answers[k + 1]
        try:
            r = run_query(scene, "fuzzed places", policy=policy, segmenter=segmenter, store=store, max_rounds=1)
        except Exception as e:
            crashes.append(f"{type(e).__name__}: {e} on {answers[k][:60]!r} / {answers[k + 1][:60]!r}")
            continue
        runs += 1
        failures += r.format_failures
        instances += len(r.instances)
    return {"runs": runs, "answers": 2 * runs, "crashes": len(crashes), "crash_examples": crashes[:5],
            "format_failures": failures, "instances": instances,
            "seconds": round(time.perf_counter() - t0, 2)}  # fmt: skip


# ------------------------------------------------------------------------------------------------------ the CLI

SKIP = {("mcp",), ("serve",), ("chat",), ("models", "pull")}
"""Left out: they serve until stopped, read a terminal, or download."""
BAD_INTS = ["-1", "0", "1", "2", "3", "x", "1.5", "", "99999999999999999999"]
BAD_FLOATS = ["-1", "0", "0.5", "1", "nan", "inf", "x", "1e309", ""]


class HungError(Exception):
    """An invocation ran past its time limit."""


def _values(tmp: Path) -> dict[str, list[str]]:
    files = [str(tmp / "scene" / n) for n in ("sat.tif", "map.png", "layers.geojson", "sat.png")]
    return {"path": [*files, str(tmp / "missing.png"), str(tmp), str(tmp / "out"), str(tmp / "scene"), "/proc/1",
                     "", "-"],
            "str": ["", " ", "x", "schools", "openai:m", "sam2", "classical", "map", "random-box", "a,b", "synth:x",
                    f"socioseg:{tmp}", "1,2,3", "native", "--", "ü" * 3, "http://127.0.0.1:9/v1"],
            "int": BAD_INTS, "float": BAD_FLOATS}  # fmt: skip


def _scene(tmp: Path) -> None:
    from PIL import Image

    from evals.synthcity import generate_sample
    from tools.raster_io import write_geotiff

    s = generate_sample(0, 0, "test", 128)
    d = tmp / "scene"
    d.mkdir()
    write_geotiff(d / "sat.tif", s.scene.sat, s.scene.georef)
    Image.fromarray(s.scene.sat).save(d / "sat.png")
    Image.fromarray(s.scene.map).save(d / "map.png")
    (d / "layers.geojson").write_text(json.dumps(s.layers_geojson))


def invocation(rng: random.Random, tree: dict, values: dict[str, list[str]]) -> list[str]:
    """Return one random command line from the real command tree and flag types."""
    path = rng.choice(sorted(tree))
    flags = tree[path]
    argv = list(path)
    for name, kind, choices in rng.sample(flags, k=min(len(flags), rng.randint(0, 6))):
        if kind == "bool":
            argv.append(name)
            continue
        pool = list(choices) if choices else values.get(kind, values["str"])
        value = rng.choice(pool + values["str"][:3])
        if path == ("synth",) and name in ("--n", "--size"):
            value = rng.choice(["-1", "0", "1", "2", "x", "128"])
        argv += [name, value]
    if rng.random() < 0.1:
        argv.append(rng.choice(["--no-such-flag", "extra-arg", "--help"]))
    return argv


def fuzz_cli(n: int, seed: int) -> dict:
    from socioagent import cli
    from socioagent.flags import command_flags

    tree = {p: f for p, f in command_flags(cli.app).items() if p not in SKIP}
    rng = random.Random(seed)
    codes: collections.Counter[str] = collections.Counter()
    tracebacks: list[dict] = []
    hung: list[list[str]] = []

    def alarm(*_: object) -> None:
        raise HungError()

    signal.signal(signal.SIGALRM, alarm)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _scene(tmp)
        values = _values(tmp)
        here = os.getcwd()
        os.chdir(tmp)  # default output folders land here
        try:
            for _ in range(n):
                argv = invocation(rng, tree, values)
                sys.argv = ["socio", *argv]
                err = io.StringIO()
                signal.alarm(120)
                try:
                    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
                            warnings.catch_warnings():  # fmt: skip
                        warnings.simplefilter("ignore")
                        cli.main()
                    codes["0"] += 1
                except SystemExit as e:
                    codes[str(e.code if isinstance(e.code, int) else (0 if e.code is None else 1))] += 1
                except HungError:
                    hung.append(argv)
                except BaseException as e:
                    tracebacks.append({"argv": argv, "error": f"{type(e).__name__}: {e}"[:300]})
                finally:
                    signal.alarm(0)
        finally:
            os.chdir(here)
    return {"invocations": n, "commands": [" ".join(p) for p in sorted(tree)],
            "exit_codes": dict(sorted(codes.items())),
            "tracebacks": len(tracebacks), "traceback_examples": tracebacks[:10],
            "hung_past_120s": len(hung), "hung_examples": hung[:5],
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parser", type=int, default=100_000)
    ap.add_argument("--graph", type=int, default=2_000, help="answers through whole runs (two per run)")
    ap.add_argument("--cli", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    report: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), {platform.python_version()}",
                    "seed": a.seed}  # fmt: skip
    t0 = time.perf_counter()
    answers = collect(max(a.parser, a.graph), a.seed) if a.parser or a.graph else []
    report["generate_seconds"] = round(time.perf_counter() - t0, 1)
    if a.parser:
        report["parser"] = fuzz_parser(answers[: a.parser])
    if a.graph:
        report["graph"] = fuzz_graph(answers[: a.graph])
    if a.cli:
        report["cli"] = fuzz_cli(a.cli, a.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
