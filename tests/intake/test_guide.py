"""The own-data guides stay true: their codebook example loads, and every check intake's
mapping/derivation/stacking modules can report is explained in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.codebook import Codebook
from evalkit.yamlio import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "docs" / "guide-own-data.zh.md", ROOT / "docs" / "guide-own-data.en.md"]
#: modules whose checks the guides must explain (readers document their own in their messages)
MODULES = ["validate.py", "load.py", "multifile.py", "derive.py", "mapping.py"]


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_codebook_example_loads(tmp_path, guide):
    text = guide.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if b.startswith("constructs:"))
    path = tmp_path / "codebook.yaml"
    path.write_text(block, encoding="utf-8")
    cb = Codebook.from_yaml(path)
    assert cb["sat_env"].construct == "env" and cb["bel_3"].reverse
    assert cb["years_here"].type == "integer" and cb["id_number"].pseudonymise
    study = next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if b.startswith("name:"))
    assert parse_yaml(study, "study.yaml").get("waves") is not None


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_check_is_explained(guide):
    src = ROOT / "src" / "evalkit" / "intake"
    codes = set()
    for name in MODULES:
        text = (src / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'(?:check=|ctx\.add\(|log_by_file\(.*check=)"([a-z_]+)"', text))
        codes |= set(re.findall(r'check="([a-z_]+)"', text))
    assert len(codes) > 20
    documented = set(re.findall(r"`([a-z_]+)`", guide.read_text(encoding="utf-8")))
    assert sorted(codes - documented) == []
