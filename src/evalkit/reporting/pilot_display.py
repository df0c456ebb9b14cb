"""Blocks of the per-pilot report and the programme report (zh / en).

The per-pilot report tells one community's story: what the pilot is, how many
residents answered before and after it started, how its outcomes moved against
the comparison communities, its own effect with an honest interval, and what
the programme delivered there. The programme report lines the pilots up: a
forest plot, a league table and the differences by programme type. Numbers
come from :class:`evalkit.community.CommunityEffects`; this module only
formats them into :class:`~evalkit.reporting.tables.ReportTable` objects and figures for
:class:`~evalkit.reporting.document.ReportDocument` (wording: ``pilot_*`` keys of the text
catalogue). Counts below :data:`MIN_CELL` are suppressed ("<10"), and a group mean resting on
fewer respondents is not drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.programme_display import community_names
from evalkit.reporting.tables import ReportTable, fmt_ci, fmt_int, fmt_num, fmt_p, sig_marks
from evalkit.reporting.text import lang_code, text
from evalkit.reporting.vocab import has_word, word

__all__ = ["MIN_CELL", "pilot_title", "pilot_facts_table", "pilot_sample_table", "pilot_effects_table",
           "pilot_trend_figure", "add_pilot_trend", "pilot_services_table", "pilot_results",
           "programme_forest_figure", "add_programme_forest", "league_table", "programme_types_table",
           "programme_results", "resolve_community", "value_label", "pilot_text"]

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
    "participants": {"zh": "服务人次", "en": "Contacts"},
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
    # service blocks of the ledger (the demo city's; a study's own blocks show as recorded)
    "邻里互助": {"zh": "邻里互助", "en": "neighbourhood mutual aid"}, "助残服务": {"zh": "助残服务", "en": "disability support"},
    "文体活动": {"zh": "文体活动", "en": "culture and sports"}, "青少年成长": {"zh": "青少年成长", "en": "youth development"},
    "为老服务": {"zh": "为老服务", "en": "older people"}, "困难帮扶": {"zh": "困难帮扶", "en": "support for families in need"},
    "协商议事": {"zh": "协商议事", "en": "resident deliberation"}, "儿童关爱": {"zh": "儿童关爱", "en": "child care"},
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


def _name(study: Any, community_id: str, lang: str = "zh") -> str:
    return community_names(study, lang).get(community_id, community_id)


def _has_cjk(value: Any) -> bool:
    return isinstance(value, str) and any("\u4e00" <= ch <= "\u9fff" for ch in value)


def _cap(text_: str, lang: str) -> str:
    return text_[:1].upper() + text_[1:] if lang_code(lang) == "en" else text_


def pilot_title(study: Any, community_id: str, lang: str = "zh") -> str:
    """The per-pilot report's title (no Markdown heading marks)."""
    return pilot_text("title", lang, name=_name(study, community_id, lang)).lstrip("#").strip()


def pilot_facts_table(study: Any, community_id: str, lang: str = "zh") -> ReportTable:
    """What the pilot is: registry and pilot facts. An English report leaves out values that are
    Chinese names (district, street, operator) and says so."""
    reg = study.tables["communities"].set_index("community_id").loc[community_id]
    pilot = study.pilots.set_index("community_id").loc[community_id]
    rows = [("community_id", community_id)]
    rows += [(k, reg[k]) for k in ("district", "street", "urban_rural", "population") if k in reg.index]
    rows += [(k, pilot[k]) for k in ("programme", "start_date", "operator", "budget_wan") if k in pilot.index]
    en = lang_code(lang) == "en"
    shown, dropped = [], []
    for k, v in rows:
        if pd.isna(v):
            continue
        if k == "start_date":
            cell = pd.Timestamp(v).date().isoformat()
        elif k == "population":
            cell = fmt_int(v)
        elif k == "budget_wan":
            cell = fmt_num(v, 1)
        else:
            cell = _cap(str(value_label(v, lang)), lang)
        if en and _has_cjk(cell):
            dropped.append(k)
            continue
        shown.append({_col("item", lang): _FACTS[k][lang_code(lang)], _col("value", lang): cell})
    notes = ([f"Names ({', '.join(_FACTS[k]['en'].lower() for k in dropped)}) are given in the Chinese report."]
             if dropped else [])
    return ReportTable(frame=pd.DataFrame(shown), title=pilot_text("tab_facts", lang), lang=lang, weighted="none",
                       notes=notes + [pilot_text("tab_facts_note", lang)])


def pilot_sample_table(study: Any, community_id: str, lang: str = "zh") -> ReportTable:
    """Residents interviewed here per year; counts under :data:`MIN_CELL` shown as "<10"."""
    survey = study.tables["survey"]
    years = pd.to_datetime(survey.loc[survey["community_id"] == community_id, "interview_date"]).dt.year
    counts = years.value_counts().sort_index()
    table = pd.DataFrame({_col("year", lang): counts.index.astype(str),
                          _col("respondents", lang): [fmt_int(n) if n >= MIN_CELL else f"<{MIN_CELL}"
                                                      for n in counts.to_numpy()]})
    return ReportTable(frame=table, title=pilot_text("tab_sample", lang), lang=lang, unit=word("unit.persons", lang),
                       n=pilot_text("n_sample", lang, n=fmt_int(len(years)) if len(years) >= MIN_CELL
                                    else f"<{MIN_CELL}"),
                       weighted="none", notes=[pilot_text("sample_note", lang, min_cell=MIN_CELL)])


def pilot_effects_table(effects: Any, study: Any, community_id: str, lang: str = "zh") -> ReportTable:
    """The pilot's before/after means against the comparisons, its own effect and notes."""
    rows = effects.for_community(community_id)
    coarse = rows["flags"].astype(str).str.contains("few_comparisons").any()
    rows = rows.assign(flags=rows["flags"].map(_without_few_comparisons))
    frame = pd.DataFrame([{
        _col("outcome", lang): study.codebook.construct_label(r.outcome, lang),
        _col("before", lang): fmt_num(r.pre_mean) if _published(r.n_pre) else "—",  # no mean of under 10 people
        _col("after", lang): fmt_num(r.post_mean) if _published(r.n_post) else "—",
        _col("comparison", lang): fmt_num(r.comparison_change),
        _col("effect", lang): f"{fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)} {sig_marks(r.p_value)}".rstrip()
        if pd.notna(r.estimate) else "—",
        _col("p", lang): fmt_p(r.p_value),
        _col("n", lang): f"{_count(r.n_pre)}/{_count(r.n_post)}",
        _col("note", lang): _flags_text(r.flags, lang, effects.min_responses) or "—",
    } for r in rows.itertuples(index=False)])
    frame = _without_empty_notes(frame, lang)
    n_comp = int(rows["n_comparisons"].max()) if "n_comparisons" in rows and len(rows) else 0
    notes = [pilot_text("tab_effects_note", lang)]
    if coarse:
        notes.append(_cap(_FLAGS["few_comparisons"][lang_code(lang)], lang) + ("。" if lang_code(lang) == "zh" else "."))
    return ReportTable(frame=frame, title=pilot_text("tab_effects", lang), lang=lang,
                       unit=word("unit.score", lang), n=pilot_text("n_effects", lang, comparisons=n_comp),
                       method=pilot_text("method_effects", lang), weighted="no", significance=True, notes=notes)


def _without_empty_notes(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The note column only when some row has a note."""
    note = _col("note", lang)
    return frame.drop(columns=[note]) if note in frame and frame[note].isin(["", "—"]).all() else frame


def _published(n: Any) -> bool:
    return pd.notna(n) and n >= MIN_CELL


def _count(n: Any) -> str:
    return "—" if pd.isna(n) else (fmt_int(n) if n >= MIN_CELL or n == 0 else f"<{MIN_CELL}")


def pilot_trend_figure(study: Any, community_id: str, outcome: str, lang: str = "zh", *,
                       scored: pd.DataFrame | None = None) -> Any:
    """Yearly mean of one outcome in the pilot and in the comparison communities (no mean under MIN_CELL)."""
    from matplotlib.ticker import MaxNLocator

    from evalkit.reporting.figures import axes_for
    from evalkit.scales import score

    if scored is None:
        scored = score(study.tables["survey"], study.codebook, constructs=[outcome])
    data = scored.assign(year=pd.to_datetime(scored["interview_date"]).dt.year)
    comparisons = set(study.comparison_ids())
    zh = lang_code(lang) == "zh"
    ax = axes_for(None, (6.5, 3.6))
    for who, mask, style in ((_name(study, community_id, lang), data["community_id"] == community_id, "o-"),
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
    return ax


def add_pilot_trend(doc: Any, study: Any, community_id: str, outcome: str, lang: str = "zh") -> None:
    """The trend figure as a numbered figure of ``doc`` (figures/trend_<outcome>.png)."""
    label = study.codebook.construct_label(outcome, lang)
    doc.figure(pilot_trend_figure(study, community_id, outcome, lang), name=f"trend_{outcome}",
               title=pilot_text("fig_trend", lang, outcome=label), notes=[pilot_text("fig_trend_note", lang,
                                                                                  min_cell=MIN_CELL)])


def pilot_services_table(study: Any, community_id: str, lang: str = "zh") -> ReportTable:
    """Services here: service block × method (counts under MIN_CELL shown as "<10"), services, contacts."""
    services = study.tables.get("services")
    title = pilot_text("tab_services", lang)
    if services is None or services.empty:
        return ReportTable(frame=pd.DataFrame(), title=title, lang=lang, empty=pilot_text("no_services", lang))
    mine = services[services["community_id"] == community_id]
    counts = mine.pivot_table(index="block", columns="method", values="service_id", aggfunc="size",
                              fill_value=0, observed=True)
    methods = [_cap(value_label(m, lang), lang) for m in counts.columns]
    published = counts.apply(lambda col: col.map(lambda n: fmt_int(n) if n >= MIN_CELL or n == 0 else f"<{MIN_CELL}"))
    published.columns = methods
    table = published.assign(**{_col("services", lang): counts.sum(axis=1).map(fmt_int),
                                _col("participants", lang): mine.groupby("block")["participants"].sum()
                                .reindex(counts.index).map(fmt_int)})
    table.index = [_cap(value_label(b, lang), lang) for b in table.index]
    table = table.rename_axis(_col("block", lang)).reset_index()
    return ReportTable(frame=table, title=title, lang=lang, unit=pilot_text("unit_services", lang),
                       n=pilot_text("n_services", lang, n=fmt_int(len(mine))), weighted="none",
                       method=pilot_text("method_services", lang),
                       notes=[pilot_text("services_note", lang, min_cell=MIN_CELL)])


def pilot_results(effects: Any, community_id: str) -> dict[str, Any]:
    """Every number the per-pilot report publishes, for results.json."""
    rows = effects.for_community(community_id).drop(columns=["community_id"])
    return {"community_id": community_id,
            "effects": {r["outcome"]: {k: v for k, v in r.items() if k != "outcome"}
                        for r in rows.to_dict("records")}}


def programme_forest_figure(effects: Any, study: Any, outcome: str, lang: str = "zh") -> Any:
    """Each pilot's effect on ``outcome`` with its interval, pilots named in the report's language."""
    names = pd.Series(community_names(study, lang))
    return effects.plot(outcome=outcome, labels=names, lang=lang)


def add_programme_forest(doc: Any, effects: Any, study: Any, outcome: str, lang: str = "zh") -> None:
    """The forest plot as a numbered figure of ``doc`` (figures/pilots_<outcome>.png)."""
    label = study.codebook.construct_label(outcome, lang)
    doc.figure(programme_forest_figure(effects, study, outcome, lang), name=f"pilots_{outcome}",
               title=pilot_text("fig_forest", lang, outcome=label), notes=[pilot_text("forest_note", lang)])


def league_table(effects: Any, study: Any, outcome: str, lang: str = "zh") -> ReportTable:
    """Pilots ranked by their effect on ``outcome`` (pilots without an estimate last, unranked)."""
    names = community_names(study, lang)
    league = effects.league(outcome)
    table = pd.DataFrame({
        _col("rank", lang): np.where(league["estimate"].notna(), np.arange(1, len(league) + 1).astype(str), "—"),
        _col("community", lang): league["community_id"].map(lambda c: names.get(str(c), str(c))),
        _col("programme", lang): league["programme"].map(lambda v: _cap(value_label(v, lang), lang)),
        _col("effect", lang): [f"{fmt_ci(a, b, c, lang=lang)} {sig_marks(p)}".rstrip() if pd.notna(a) else "—"
                               for a, b, c, p in zip(league["estimate"], league["ci_lower"], league["ci_upper"],
                                                     league["p_value"], strict=True)],
        _col("p", lang): league["p_value"].map(fmt_p),
        _col("note", lang): [_flags_text(_without_few_comparisons(f), lang, effects.min_responses) or "—"
                             for f in league["flags"]],
    })
    table = _without_empty_notes(table, lang)
    label = study.codebook.construct_label(outcome, lang)
    notes = [pilot_text("league_note", lang, outcome=label)]
    if league["flags"].astype(str).str.contains("few_comparisons").any():
        notes.append(_cap(_FLAGS["few_comparisons"][lang_code(lang)], lang) + ("。" if lang_code(lang) == "zh" else "."))
    return ReportTable(frame=table, title=pilot_text("tab_league", lang, outcome=label), lang=lang,
                       unit=word("unit.score", lang), n=pilot_text("n_pilots", lang, n=len(league)),
                       method=pilot_text("method_effects", lang), weighted="no", significance=True, notes=notes)


def programme_types_table(effects: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Mean of the pilots' own effects by programme type, one row per outcome."""
    by = effects.by_programme()
    types = list(dict.fromkeys(by["programme"]))
    present = list(dict.fromkeys(by["outcome"]))
    ordered = [o for o in study.config.outcomes if o in present] + [o for o in present
                                                                   if o not in study.config.outcomes]
    rows = []
    for outcome in ordered:
        g = by[by["outcome"] == outcome].set_index("programme")
        row = {_col("outcome", lang): study.codebook.construct_label(outcome, lang)}
        for t in types:
            row[_cap(value_label(t, lang), lang)] = fmt_num(g["mean_effect"].get(t))
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = by.drop_duplicates("programme").set_index("programme")["pilots"]
    n = ("，" if lang_code(lang) == "zh" else ", ").join(
        pilot_text("n_type", lang, programme=value_label(t, lang), n=int(counts[t])) for t in types)
    return ReportTable(frame=frame, title=pilot_text("tab_types", lang), lang=lang,
                       unit=word("unit.score", lang), n=n, method=pilot_text("method_types", lang), weighted="no",
                       notes=[pilot_text("types_note", lang)])


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
