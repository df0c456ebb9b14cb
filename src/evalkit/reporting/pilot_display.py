"""Blocks of the per-pilot report and the programme report (zh / en).

The per-pilot report tells one community's story: what the pilot is, how many
residents answered before and after it started, how its outcomes moved against
the comparison communities, its own effect with an honest interval, and what
the programme delivered there. The programme report lines the pilots up: a
forest plot, a league table and the differences by programme type. Numbers
come from :class:`evalkit.community.CommunityEffects`; this module only
formats them. Counts below :data:`MIN_CELL` are suppressed, and a group mean
resting on fewer respondents is not drawn.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.display import markdown, show_figure, show_table
from evalkit.reporting.text import lang_code, text
from evalkit.reporting.vocab import has_word, word

__all__ = ["MIN_CELL", "pilot_title", "show_pilot_facts", "show_pilot_sample", "show_pilot_effects",
           "show_pilot_trend", "show_pilot_services", "pilot_results", "show_programme_forest",
           "show_league_table", "show_programme_types", "programme_results", "resolve_community", "value_label",
           "pilot_text"]

#: counts below this are not published; means resting on fewer respondents are not drawn
MIN_CELL = 10


_COLS: dict[str, dict[str, str]] = {
    "item": {"zh": "项目", "en": "Item"},
    "value": {"zh": "内容", "en": "Value"},
    "year": {"zh": "年份", "en": "Year"},
    "respondents": {"zh": "受访人数", "en": "Respondents"},
    "outcome": {"zh": "指标", "en": "Outcome"},
    "before": {"zh": "试点前均值", "en": "Mean before"},
    "after": {"zh": "试点后均值", "en": "Mean after"},
    "comparison": {"zh": "对照社区变化", "en": "Change in comparisons"},
    "effect": {"zh": "效应 [95% 区间]", "en": "Effect [95% interval]"},
    "p": {"zh": "p 值", "en": "p-value"},
    "n": {"zh": "样本（前/后）", "en": "Respondents (before/after)"},
    "note": {"zh": "说明", "en": "Note"},
    "rank": {"zh": "名次", "en": "Rank"},
    "community": {"zh": "社区", "en": "Community"},
    "programme": {"zh": "试点类型", "en": "Programme"},
    "mean_effect": {"zh": "平均效应", "en": "Mean effect"},
    "pilots": {"zh": "试点社区数", "en": "Pilots"},
    "services": {"zh": "服务次数", "en": "Services"},
    "participants": {"zh": "服务人次", "en": "Participants"},
    "block": {"zh": "服务板块", "en": "Service block"},
    "method": {"zh": "服务方式", "en": "Method"},
}

_FACTS: dict[str, dict[str, str]] = {
    "community_id": {"zh": "社区编码", "en": "Community id"},
    "district": {"zh": "区（县）", "en": "District"},
    "street": {"zh": "街道（乡镇）", "en": "Street"},
    "urban_rural": {"zh": "城乡类型", "en": "Urban / rural"},
    "population": {"zh": "常住人口", "en": "Residents"},
    "programme": {"zh": "试点类型", "en": "Programme"},
    "start_date": {"zh": "启动日期", "en": "Start date"},
    "operator": {"zh": "承接机构", "en": "Operator"},
    "budget_wan": {"zh": "预算（万元）", "en": "Budget (10,000 yuan)"},
}

_VALUES: dict[str, dict[str, str]] = {
    "urban": {"zh": "城市社区", "en": "urban"}, "rural": {"zh": "农村社区", "en": "rural"},
    "casework": {"zh": "个案", "en": "casework"}, "group": {"zh": "小组", "en": "group work"},
    "event": {"zh": "社区活动", "en": "community event"},
    "home_visit": {"zh": "入户探访", "en": "home visit"},
}

_FLAGS: dict[str, dict[str, str]] = {
    "no_baseline": {"zh": "试点前无调查数据，无法估计", "en": "no survey before the start: not estimable"},
    "no_follow_up": {"zh": "试点后尚无调查数据", "en": "no survey after the start yet"},
    "few_responses": {"zh": "试点前或后受访者少于 {n} 人，估计不稳定",
                      "en": "fewer than {n} respondents before or after: unstable"},
    "few_comparisons": {"zh": "对照社区少于 20 个，区间较粗、p 值不可能很小",
                        "en": "under 20 comparison communities: coarse interval, p-value cannot be small"},
}


def pilot_text(key: str, lang: str, **fields: Any) -> str:
    """Wording of the per-pilot and programme reports (``pilot_<key>`` in the text catalogue)."""
    return text(f"pilot_{key}", lang, **fields)


def _col(key: str, lang: str) -> str:
    return _COLS[key][lang_code(lang)]


def value_label(v: Any, lang: str) -> str:
    """A code in words: programme types from the report vocabulary, registry and service codes from here."""
    if has_word(f"programme.{v}"):
        return word(f"programme.{v}", lang)
    return _VALUES.get(str(v), {}).get(lang_code(lang), str(v))


def _fmt_ci(est: float, lo: float, hi: float, decimals: int = 2) -> str:
    if not np.isfinite(est):
        return "—"
    return f"{est:.{decimals}f} [{lo:.{decimals}f}, {hi:.{decimals}f}]"


def _flags_text(flags: str, lang: str, min_responses: int) -> str:
    code = lang_code(lang)
    parts = [_FLAGS[f][code].format(n=min_responses) for f in str(flags or "").split(";") if f]
    return ("；" if code == "zh" else "; ").join(parts)


def _without_few_comparisons(flags: str) -> str:
    """few_comparisons holds for every pilot alike: it is said once under the table, not per row."""
    return ";".join(f for f in str(flags or "").split(";") if f and f != "few_comparisons")


def resolve_community(study: Any, community_id: str) -> str:
    """The pilot to report on: ``community_id``, or the first pilot when it is empty.

    Raises
    ------
    ParameterError
        The id is not in the registry, or the community is not a pilot (close ids suggested).
    """
    import difflib

    from evalkit.errors import ParameterError

    if not community_id:
        return str(study.treated_ids()[0])
    registry = study.tables["communities"]["community_id"].astype(str).tolist()
    if community_id not in registry:
        close = difflib.get_close_matches(community_id, registry, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        msg = f"community_id {community_id!r} is not in the study's community registry.{hint}"
        raise ParameterError(msg)
    if community_id not in study.treated_ids():
        msg = (f"community {community_id!r} is not a pilot in this study (no row in the pilots table); "
               f"per-pilot reports are made for pilots only.")
        raise ParameterError(msg)
    return community_id


def _name(study: Any, community_id: str) -> str:
    reg = study.tables["communities"].set_index("community_id")
    return str(reg["community_name"].get(community_id, community_id)) if "community_name" in reg else community_id


def pilot_title(study: Any, community_id: str, lang: str = "zh") -> None:
    from evalkit.reporting.display import synthetic_notice

    markdown(pilot_text("title", lang, name=_name(study, community_id)))
    synthetic_notice(study, lang)


def show_pilot_facts(study: Any, community_id: str, lang: str = "zh") -> None:
    markdown(pilot_text("facts", lang))
    reg = study.tables["communities"].set_index("community_id").loc[community_id]
    pilot = study.pilots.set_index("community_id").loc[community_id]
    rows = [("community_id", community_id)]
    rows += [(k, reg[k]) for k in ("district", "street", "urban_rural", "population") if k in reg.index]
    rows += [(k, pilot[k]) for k in ("programme", "start_date", "operator", "budget_wan") if k in pilot.index]
    table = pd.DataFrame(
        [{_col("item", lang): _FACTS[k][lang_code(lang)],
          _col("value", lang): (pd.Timestamp(v).date().isoformat() if k == "start_date" else value_label(v, lang))}
         for k, v in rows if pd.notna(v)])
    show_table(table)


def show_pilot_sample(study: Any, community_id: str, lang: str = "zh") -> None:
    markdown(pilot_text("sample", lang))
    markdown(pilot_text("sample_note", lang, min_cell=MIN_CELL))
    survey = study.tables["survey"]
    years = pd.to_datetime(survey.loc[survey["community_id"] == community_id, "interview_date"]).dt.year
    counts = years.value_counts().sort_index()
    table = pd.DataFrame({_col("year", lang): counts.index.astype(str),
                          _col("respondents", lang): [str(int(n)) if n >= MIN_CELL else f"<{MIN_CELL}"
                                                      for n in counts.to_numpy()]})
    show_table(table)


def _effects_table(effects: pd.DataFrame, study: Any, lang: str, min_responses: int) -> pd.DataFrame:
    rows = []
    for r in effects.itertuples(index=False):
        rows.append({
            _col("outcome", lang): study.codebook.construct_label(r.outcome, lang),
            _col("before", lang): r.pre_mean,
            _col("after", lang): r.post_mean,
            _col("comparison", lang): r.comparison_change,
            _col("effect", lang): _fmt_ci(r.estimate, r.ci_lower, r.ci_upper),
            _col("p", lang): r.p_value,
            _col("n", lang): f"{r.n_pre}/{r.n_post}",
            _col("note", lang): _flags_text(r.flags, lang, min_responses),
        })
    return pd.DataFrame(rows)


def show_pilot_effects(effects: Any, study: Any, community_id: str, lang: str = "zh") -> None:
    """The pilot's before/after table against the comparisons, with its own effect and notes."""
    markdown(pilot_text("effects", lang))
    markdown(pilot_text("effects_note", lang))
    rows = effects.for_community(community_id)
    coarse = rows["flags"].str.contains("few_comparisons").any()
    rows = rows.assign(flags=rows["flags"].map(_without_few_comparisons))
    show_table(_effects_table(rows, study, lang, effects.min_responses), decimals=2)
    if coarse:
        markdown(_FLAGS["few_comparisons"][lang_code(lang)].join(["", "。" if lang_code(lang) == "zh" else "."]))


def show_pilot_trend(study: Any, community_id: str, outcome: str, lang: str = "zh", *,
                     scored: pd.DataFrame | None = None, output_dir: str | os.PathLike[str] | None = None) -> None:
    """Yearly mean of one outcome in the pilot and in the comparison communities (no mean under MIN_CELL)."""
    from matplotlib.ticker import MaxNLocator

    from evalkit.reporting.figures import axes_for
    from evalkit.scales import score

    markdown(pilot_text("trend", lang))
    if scored is None:
        scored = score(study.tables["survey"], study.codebook, constructs=[outcome])
    data = scored.assign(year=pd.to_datetime(scored["interview_date"]).dt.year)
    comparisons = set(study.comparison_ids())
    zh = lang_code(lang) == "zh"
    ax = axes_for(None, (6.5, 3.6))
    for who, mask, style in ((_name(study, community_id), data["community_id"] == community_id, "o-"),
                             ("对照社区" if zh else "Comparison communities",
                              data["community_id"].isin(comparisons), "s--")):
        g = data[mask].groupby("year")[outcome].agg(["mean", "count"])
        g = g[g["count"] >= MIN_CELL]
        ax.plot(g.index, g["mean"], style, label=who)
    start = int(study.pilots.set_index("community_id").loc[community_id, "start_year"])
    ax.axvline(start - 0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("年份" if zh else "Year")
    ax.set_ylabel(study.codebook.construct_label(outcome, lang))
    ax.legend(loc="best", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("试点启动前后（虚线为启动时间）" if zh else "Before and after the start (dotted line)")
    show_figure(ax, output_dir=output_dir, name=f"trend_{outcome}")


def show_pilot_services(study: Any, community_id: str, lang: str = "zh") -> None:
    """Services in this community: service block × method (counts under MIN_CELL suppressed), participants."""
    markdown(pilot_text("services", lang))
    services = study.tables.get("services")
    if services is None or services.empty:
        markdown(pilot_text("no_services", lang))
        return
    mine = services[services["community_id"] == community_id]
    counts = mine.pivot_table(index="block", columns="method", values="service_id", aggfunc="size",
                              fill_value=0, observed=True)
    counts = counts.rename(columns=lambda m: value_label(m, lang))
    counts.columns.name = None
    published = counts.astype(object).where(counts >= MIN_CELL, f"<{MIN_CELL}").where(counts > 0, 0)
    table = published.assign(**{_col("services", lang): counts.sum(axis=1),
                                _col("participants", lang): mine.groupby("block")["participants"].sum()})
    table = table.reset_index().rename(columns={"block": _col("block", lang)})
    show_table(table, decimals=0)


def pilot_results(effects: Any, community_id: str) -> dict[str, Any]:
    """Every number the per-pilot report publishes, for results.json."""
    rows = effects.for_community(community_id).drop(columns=["community_id"])
    return {"community_id": community_id,
            "effects": {r["outcome"]: {k: v for k, v in r.items() if k != "outcome"}
                        for r in rows.to_dict("records")}}


def show_programme_forest(effects: Any, study: Any, outcome: str, lang: str = "zh", *,
                          output_dir: str | os.PathLike[str] | None = None) -> None:
    markdown(pilot_text("forest", lang))
    markdown(pilot_text("forest_note", lang))
    names = study.tables["communities"].set_index("community_id")["community_name"]
    ax = effects.plot(outcome=outcome, labels=names, lang=lang)
    ax.set_title(study.codebook.construct_label(outcome, lang))
    show_figure(ax, output_dir=output_dir, name=f"pilots_{outcome}")


def show_league_table(effects: Any, study: Any, outcome: str, lang: str = "zh") -> None:
    markdown(pilot_text("league", lang))
    markdown(pilot_text("league_note", lang, outcome=study.codebook.construct_label(outcome, lang)))
    names = study.tables["communities"].set_index("community_id")["community_name"]
    league = effects.league(outcome)
    table = pd.DataFrame({
        _col("rank", lang): np.where(league["estimate"].notna(), np.arange(1, len(league) + 1).astype(str), "—"),
        _col("community", lang): league["community_id"].map(names).fillna(league["community_id"]),
        _col("programme", lang): league["programme"].map(lambda v: value_label(v, lang)),
        _col("effect", lang): [_fmt_ci(a, b, c) for a, b, c in
                               zip(league["estimate"], league["ci_lower"], league["ci_upper"], strict=True)],
        _col("p", lang): league["p_value"],
        _col("note", lang): [_flags_text(_without_few_comparisons(f), lang, effects.min_responses)
                             for f in league["flags"]],
    })
    show_table(table, decimals=3, max_rows=200)


def show_programme_types(effects: Any, study: Any, lang: str = "zh") -> None:
    markdown(pilot_text("types", lang))
    markdown(pilot_text("types_note", lang))
    table = effects.by_programme()
    table["outcome"] = table["outcome"].map(lambda o: study.codebook.construct_label(o, lang))
    table["programme"] = table["programme"].map(lambda v: value_label(v, lang))
    show_table(table.rename(columns={c: _col(c, lang) for c in table.columns}), decimals=3)


def programme_results(effects: Any) -> dict[str, Any]:
    """Every number the programme report publishes, for results.json."""
    by_type = effects.by_programme()
    return {
        "pilots": {f"{r['community_id']}/{r['outcome']}": {k: v for k, v in r.items()
                                                         if k not in {"community_id", "outcome"}}
                   for r in effects.estimates.to_dict("records")},
        "by_programme": {f"{r['outcome']}/{r['programme']}": {"mean_effect": r["mean_effect"],
                                                              "pilots": r["pilots"]}
                         for r in by_type.to_dict("records")},
    }

