"""Turns results into figures, tables and reports; formats, never estimates.

Re-exports the public API by name; no logic lives here.
"""

from __future__ import annotations

from evalkit.reporting.fonts import (
    CJK_FONT_FAMILY,
    check_text_renderable,
    cjk_font_path,
    set_docx_cjk_font,
    setup_matplotlib_fonts,
    strict_glyphs,
)
from evalkit.reporting.html_fonts import CJK_FONT_STACK, CJK_MONO_STACK, embed_cjk_font

__all__ = [
    "CJK_FONT_FAMILY",
    "CJK_FONT_STACK",
    "CJK_MONO_STACK",
    "check_text_renderable",
    "cjk_font_path",
    "embed_cjk_font",
    "set_docx_cjk_font",
    "setup_matplotlib_fonts",
    "strict_glyphs",
]

# report building blocks used by the notebooks
from evalkit.reporting.display import (  # noqa: E402
    banner,
    markdown,
    narrative,
    save_results,
    show_figure,
    show_table,
    show_warnings,
    suppress_small,
)
from evalkit.reporting.figures import item_distribution_bars, sample_size_heatmap  # noqa: E402

__all__ += [
    "banner",
    "item_distribution_bars",
    "markdown",
    "narrative",
    "sample_size_heatmap",
    "save_results",
    "show_figure",
    "show_table",
    "show_warnings",
    "suppress_small",
]
from evalkit.reporting.impact_display import (  # noqa: E402
    impact_table,
    sensitivity_table,
    show_event_studies,
    show_impact_table,
    show_limitations,
    show_sensitivity,
    show_truth_check,
)

__all__ += ["impact_table", "sensitivity_table", "show_event_studies", "show_impact_table",
            "show_limitations", "show_sensitivity", "show_truth_check"]
from evalkit.reporting.measurement_display import (  # noqa: E402
    measurement_table,
    show_measurement_notes,
    show_measurement_table,
)

__all__ += ["measurement_table", "show_measurement_notes", "show_measurement_table"]
from evalkit.reporting import pilot_display  # noqa: E402  (per-pilot and programme report blocks)

__all__ += ["pilot_display"]
from evalkit.reporting.power_display import power_curve, power_table, simulation_curve, simulation_table  # noqa: E402
from evalkit.reporting.synthetic_figures import gap_plot, trajectory_plot  # noqa: E402

__all__ += ["gap_plot", "power_curve", "power_table", "simulation_curve", "simulation_table", "trajectory_plot"]
from evalkit.reporting.validation_text import (  # noqa: E402
    derivations_table,
    show_intake_facts,
    unavailable_table,
)

__all__ += ["derivations_table", "show_intake_facts", "unavailable_table"]
from evalkit.reporting.programme_display import (  # noqa: E402
    comparison_paragraph,
    programme_narrative,
    programme_table,
    show_programme_figure,
    show_programme_table,
)

__all__ += ["comparison_paragraph", "programme_narrative", "programme_table", "show_programme_figure",
            "show_programme_table"]
