"""Write the demo city's resident frame of the impact report's designs as CSV for
``design_analysis_reference.R`` (not committed: regenerated from the demo's fixed seed).

Run from the repository root:  python tests/reference/design_analysis/export_demo.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from evalkit.design_analysis import resident_frame
from evalkit.intake.load import load_study
from evalkit.run.paths import demo_config
from evalkit.scales import score

HERE = Path(__file__).parent

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(demo_config(Path(tmp)))
        scored = score(study.tables["survey"], study.codebook, constructs=["gain"])
        frame = resident_frame(scored, study)
        cols = ["community_id", "pilot", "pilot_post", *[c for c in frame if c.startswith("year_")],
                "age_decades", "female", "migrant", "gain", "gain_1"]
        frame[cols].to_csv(HERE / "demo_residents.csv", index=False)
