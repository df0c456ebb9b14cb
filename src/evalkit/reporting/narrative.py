"""A study's own report text: Markdown files per section key that replace or extend the generated text.

Every narrative block of a report has a key (``summary``, ``recommendations``, ``impact_intro``,
``measure_reliability`` …; the keys of :data:`evalkit.reporting.text.TEXT` plus the story
keys of :mod:`evalkit.reporting.story`). A study folder may hold, in the folder the config's
``narrative:`` key names (default ``narrative/`` beside the config):

* ``<key>.md`` — replaces the generated text of that section;
* ``<key>.after.md`` — is appended after the generated text;
* ``<key>.zh.md`` / ``<key>.en.md`` (and ``<key>.zh.after.md`` …) — the same for one report
  language only; a language-specific file wins over the plain one.

The generated text stays the default: without files, nothing changes. Files are read as
UTF-8 (a BOM is tolerated); an empty replacement file removes the section's text.
"""

from __future__ import annotations

import os
from pathlib import Path

from evalkit.reporting.vocab import lang_code

__all__ = ["NarrativeSource", "narrative_source"]


class NarrativeSource:
    """Looks up ``<key>[.<lang>][.after].md`` in one folder (or nowhere, with ``None``)."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(folder) if folder else None

    def _read(self, key: str, lang: str, suffix: str) -> str | None:
        if self.folder is None or not self.folder.is_dir():
            return None
        for name in (f"{key}.{lang_code(lang)}{suffix}.md", f"{key}{suffix}.md"):
            path = self.folder / name
            if path.is_file():
                return path.read_text(encoding="utf-8-sig").strip()
        return None

    def compose(self, key: str, generated: str, lang: str) -> str:
        """The section's Markdown: replacement or generated text, then any extension."""
        replaced = self._read(key, lang, "")
        body = generated if replaced is None else replaced
        after = self._read(key, lang, ".after")
        return body if not after else f"{body}\n\n{after}"

    def keys(self) -> list[str]:
        """Section keys with a file in the folder (for checks and the manifest)."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted({p.name.split(".")[0] for p in self.folder.glob("*.md")})


def narrative_source(study: object) -> NarrativeSource:
    """The study's narrative folder: ``config.narrative`` if set, else ``narrative/`` beside the config."""
    config = getattr(study, "config", study)
    folder = getattr(config, "narrative", None)
    if folder is None and getattr(config, "folder", None) is not None:
        folder = Path(config.folder) / "narrative"
    return NarrativeSource(folder)
