"""``evalkit batch`` and ``evalkit run`` on the demo city against what a user would script.

Baselines, measured in the same run on the same machine:

* **batch**: a sequential loop of the ``papermill`` command line over the per-pilot template
  (``notebooks/batch/community.ipynb``), one call per pilot, each loading the study and
  estimating on its own (no run cache), as a user scripting it would; then the programme
  template. evalkit's side is ``evalkit batch`` (shared estimation once, reports in
  isolated kernels in parallel, HTML export, manifests, publication audit, index).
* **run**: ``evalkit run`` (cold cache) is reported with its breakdown from the manifest.

Prints ``ratio batch evalkit / papermill loop: x`` (below 1: evalkit faster), the amortised
seconds per pilot report, and where the time goes. ``--pilots N`` limits both sides to the
first N pilots (default: all 32; the papermill loop then takes several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _papermill(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([str(BIN / "papermill"), *args, "--no-progress-bar"], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"papermill failed: {' '.join(args)}\n{done.stderr[-3000:]}")


def _papermill_loop(study: Path, pilots: list[str], out: Path) -> float:
    template = ROOT / "notebooks" / "batch" / "community.ipynb"
    programme = ROOT / "notebooks" / "batch" / "programme.ipynb"
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "EVALKIT_CACHE_DIR"}
    # -r passes the id as text: papermill's -p would turn "043001002" into the integer 43001002
    t0 = time.perf_counter()
    for cid in pilots:
        _papermill([str(template), str(out / f"{cid}.ipynb"), "-p", "config_path", str(study),
                    "-r", "community_id", cid, "-p", "lang", "zh"], env)
    _papermill([str(programme), str(out / "programme.ipynb"), "-p", "config_path", str(study)], env)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=0, help="first N pilots only (0: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-run", action="store_true", help="do not time `evalkit run`")
    args = parser.parse_args()

    from evalkit.intake.load import load_study
    from evalkit.run.batch import run_batch
    from evalkit.run.paths import demo_config
    from evalkit.run.pipeline import run_study

    tmp = Path(tempfile.mkdtemp(prefix="evalkit-bench-batch-"))
    try:
        study = demo_config(tmp / "demo")
        pilots = load_study(study).treated_ids()
        pilots = pilots[: args.pilots] if args.pilots else pilots
        print(f"demo city: {len(pilots)} pilot reports + the programme report, {args.workers} workers")

        t0 = time.perf_counter()
        summary = run_batch(study, out=tmp / "batch", communities=pilots, workers=args.workers)
        batch_s = time.perf_counter() - t0
        assert summary.exit_code == 0, summary.render()
        base_s = _papermill_loop(study, pilots, tmp / "loop")

        print(f"evalkit batch                 {batch_s:.1f} s")
        print(f"papermill CLI loop            {base_s:.1f} s")
        print(f"ratio batch evalkit / papermill loop: {batch_s / base_s:.3f}")
        print(f"speed-up                      {base_s / batch_s:.1f}x")
        print(f"amortised per pilot report    {batch_s / len(pilots):.2f} s")
        for k, v in summary.timings.items():
            print(f"  batch {k:<22} {v:.1f} s")
        per = [json.loads((tmp / "batch" / "communities" / c / "manifest.json").read_text())["timings_seconds"]
               for c in pilots]
        for key in ("notebook", "export"):
            vals = sorted(p[key] for p in per)
            print(f"  per report {key:<17} median {vals[len(vals) // 2]:.2f} s")

        if not args.skip_run:
            t0 = time.perf_counter()
            run = run_study(study, run_id="bench", reports=tmp / "reports")
            run_s = time.perf_counter() - t0
            print(f"evalkit run (cold cache)      {run_s:.1f} s")
            for k, v in run.timings.items():
                print(f"  run {k:<24} {v:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
