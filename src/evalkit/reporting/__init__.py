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
    add_event_studies,
    add_truth_check,
    event_study_figure,
    impact_estimates_figure,
    impact_intro,
    impact_table,
    impact_truth_table,
    sensitivity_report_table,
    sensitivity_table,
    targets_table,
)
from evalkit.reporting.measurement_display import (  # noqa: E402
    MIN_PLOT_N,
    data_quality_table,
    item_distribution_figure,
    likert_figure,
    means_figure,
    measurement_table,
    session_table,
)

__all__ += ["add_event_studies", "add_truth_check", "impact_intro", "data_quality_table", "event_study_figure", "impact_estimates_figure", "impact_table",
            "impact_truth_table", "targets_table", "means_figure", "measurement_table", "MIN_PLOT_N", "session_table",
            "item_distribution_figure", "likert_figure"]

# the document, its story, and its formats
from evalkit.reporting.document import ReportDocument  # noqa: E402
from evalkit.reporting.docx_writer import write_docx, write_run_docx  # noqa: E402
from evalkit.reporting.html_offline import make_offline, report_postprocess  # noqa: E402
from evalkit.reporting.narrative import NarrativeSource, narrative_source  # noqa: E402
from evalkit.reporting.story import (  # noqa: E402
    caveat_sentences,
    data_quality_recommendations,
    data_quality_summary,
    impact_recommendations,
    impact_summary,
    measurement_recommendations,
    measurement_summary,
)
from evalkit.reporting.tables import ReportTable  # noqa: E402
from evalkit.reporting.text import text  # noqa: E402
from evalkit.reporting.vocab import word  # noqa: E402

__all__ += ["NarrativeSource", "ReportDocument", "ReportTable", "caveat_sentences", "data_quality_recommendations",
            "data_quality_summary", "impact_recommendations", "impact_summary", "make_offline",
            "measurement_recommendations", "measurement_summary", "narrative_source", "report_postprocess",
            "text", "word", "write_docx", "write_run_docx"]

from evalkit.reporting import pilot_display  # noqa: E402  (per-pilot and programme report blocks)
from evalkit.reporting import showcase_display  # noqa: E402  (the showcase report's blocks)

__all__ += ["pilot_display", "showcase_display"]
from evalkit.reporting.power_display import power_curve, power_table, simulation_curve, simulation_table  # noqa: E402
from evalkit.reporting.synthetic_figures import gap_plot, trajectory_plot  # noqa: E402

__all__ += ["gap_plot", "power_curve", "power_table", "simulation_curve", "simulation_table", "trajectory_plot"]
from evalkit.reporting.validation_text import (  # noqa: E402
    derivations_table,
    show_intake_facts,
    unavailable_table,
)

__all__ += ["derivations_table", "show_intake_facts", "unavailable_table"]
from evalkit.reporting.design_display import (  # noqa: E402
    add_design_checks,
    design_balance_table,
    design_explanations,
    design_love_figure,
    designs_summary_table,
    designs_variance_table,
    pre_post_only_table,
)

__all__ += ["add_design_checks", "design_balance_table", "design_explanations", "design_love_figure",
            "designs_summary_table", "designs_variance_table", "pre_post_only_table"]
from evalkit.reporting.programme_display import (  # noqa: E402
    add_programme_figure,
    add_programme_table,
    comparison_paragraph,
    programme_figure,
    programme_report_table,
    programme_table,
)

__all__ += ["add_programme_figure", "add_programme_table", "comparison_paragraph", "programme_figure",
            "programme_report_table", "programme_table"]
from evalkit.reporting.programme_story import (  # noqa: E402
    pilot_recommendations,
    pilot_summary,
    pilots_summary,
    programme_recommendations,
    programme_summary,
)

__all__ += ["pilot_recommendations", "pilot_summary", "pilots_summary", "programme_recommendations",
            "programme_summary"]
