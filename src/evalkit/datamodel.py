"""The tables evalkit works with, declared once.

Each :class:`TableSpec` lists the canonical (English, snake_case) columns a
table has *after intake*, their kind, whether they are required, and the
allowed values or range. Intake validation (``evalkit.intake.validate``), the
demo city (``evalkit.datasets.demo``) and ``data/README.md`` all follow these
declarations; nothing else defines a table's columns.

The resident survey is special: besides the fixed columns below it carries the
Likert and yes/no items the codebook declares, and personal-data columns that
intake drops or pseudonymises before any table reaches a notebook.
"""

from __future__ import annotations

from typing import Literal

from attrs import frozen

ColumnKind = Literal["id", "str", "int", "float", "date", "datetime", "bool", "category"]

__all__ = ["ColumnSpec", "TableSpec", "TABLES", "PROGRAMMES", "ANALYSES", "table_spec"]

#: Programme codes and their Chinese names. ``other`` covers local variants
#: (全岗通, 家园中心 …) that a config names in ``programme_label``.
PROGRAMMES: dict[str, str] = {
    "sanshe": "三社联动",
    "wushe": "五社联动",
    "other": "其他",
}


#: Analyses a column may be needed by (reason codes; ``ColumnSpec.needed_by``). Reports
#: turn them into words; intake names them when a column is missing or unavailable.
ANALYSES: dict[str, tuple[str, str]] = {
    "all": ("所有分析", "every analysis"),
    "raking_margin": ("加权（raking 边际）", "weighting (raking margin)"),
    "subgroup": ("分组分析", "subgroup analysis"),
    "balance": ("基线均衡表", "baseline balance table"),
    "impact_year": ("成效估计（调查年份）", "impact estimation (survey year)"),
    "date_checks": ("日期核查", "date checks"),
    "age_derivation": ("由出生年份推算年龄", "age from birth year"),
    "wave_derivation": ("由访问日期推算轮次", "wave from interview date"),
    "report_context": ("报告中的社区概况", "community context in reports"),
    "weighting": ("加权（人口边际）", "weighting (population margins)"),
}


@frozen
class ColumnSpec:
    """One column of a table after intake."""

    name: str
    kind: ColumnKind
    label_zh: str
    label_en: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None  # for kind == "category"
    min_value: float | None = None
    max_value: float | None = None
    unique: bool = False
    #: analyses that need this column (codes of :data:`ANALYSES`); an optional column that is
    #: absent or empty makes them leave it out (``Study.unavailable``)
    needed_by: tuple[str, ...] = ()


@frozen
class TableSpec:
    """A table of the data model: its columns and its key."""

    name: str
    label_zh: str
    label_en: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    #: True where the codebook may add columns (survey items)
    open_columns: bool = False

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        msg = f"table {self.name!r} has no column {name!r}"
        raise KeyError(msg)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


C = ColumnSpec

COMMUNITIES = TableSpec(
    name="communities",
    label_zh="社区名录",
    label_en="Community registry",
    key=("community_id",),
    columns=(
        C("community_id", "id", "社区编码", "community id", unique=True),
        C("community_name", "str", "社区名称", "community name"),
        C("district", "str", "区（县）", "district", required=False, nullable=True,
          needed_by=("report_context",)),
        C("street", "str", "街道（乡镇）", "street / township", required=False, nullable=True,
          needed_by=("report_context",)),
        C("urban_rural", "category", "城乡类型", "urban or rural", allowed=("urban", "rural"),
          required=False, nullable=True, needed_by=("report_context",)),
        C("population", "int", "常住人口", "resident population", min_value=0, required=False,
          nullable=True, needed_by=("report_context",)),
        C("households", "int", "户数", "households", min_value=0, required=False, nullable=True,
          needed_by=("report_context",)),
        C("migrant_share", "float", "流动人口占比", "migrant share", min_value=0, max_value=1,
          required=False, nullable=True),
    ),
)

COMMUNITY_PANEL = TableSpec(
    name="community_panel",
    label_zh="社区年度投入面板",
    label_en="Community-year panel of inputs",
    key=("community_id", "year"),
    columns=(
        C("community_id", "id", "社区编码", "community id"),
        C("year", "int", "年份", "year", min_value=1990, max_value=2100),
        C("social_orgs", "int", "社区社会组织数", "community social organisations", min_value=0),
        C("social_workers", "int", "持证社工数", "certified social workers", min_value=0),
        C("volunteers", "int", "注册志愿者数", "registered volunteers", min_value=0),
        C("volunteer_hours", "float", "志愿服务时长（小时）", "volunteer hours", min_value=0),
        C("funding_wan", "float", "投入资金（万元）", "funding (10k yuan)", min_value=0),
        C("centre_area_m2", "float", "服务中心面积（平方米）", "service-centre floor area (m²)",
          min_value=0, required=False, nullable=True),
    ),
)

POPULATION_MARGINS = TableSpec(
    name="population",
    label_zh="人口结构（加权边际）",
    label_en="Population margins for weighting",
    key=("community_id", "age_band", "gender", "hukou"),
    columns=(
        C("community_id", "id", "社区编码", "community id"),
        C("age_band", "category", "年龄段", "age band",
          allowed=("18-34", "35-59", "60+"), required=False, needed_by=("raking_margin",)),
        C("gender", "category", "性别", "gender", allowed=("male", "female"), required=False,
          needed_by=("raking_margin",)),
        C("hukou", "category", "户籍", "hukou", allowed=("local", "migrant"), required=False,
          needed_by=("raking_margin",)),
        C("population", "int", "人口数", "population", min_value=0),
    ),
)

PILOTS = TableSpec(
    name="pilots",
    label_zh="试点名单",
    label_en="Pilot roll-out",
    key=("community_id",),
    columns=(
        C("community_id", "id", "社区编码", "community id", unique=True),
        C("programme", "category", "试点类型", "programme", allowed=tuple(PROGRAMMES)),
        C("start_date", "date", "启动日期", "start date"),
        C("operator", "str", "承接机构", "operating agency", required=False, nullable=True),
        C("budget_wan", "float", "预算（万元）", "budget (10k yuan)", min_value=0,
          required=False, nullable=True),
    ),
)

SURVEY = TableSpec(
    name="survey",
    label_zh="居民问卷",
    label_en="Resident survey",
    key=("respondent_id",),
    open_columns=True,
    columns=(
        C("respondent_id", "id", "问卷编号", "respondent id", unique=True, needed_by=("all",)),
        C("community_id", "id", "社区编码", "community id", needed_by=("all",)),
        C("wave", "int", "调查轮次", "survey wave", min_value=1, max_value=100, needed_by=("all",)),
        C("interview_date", "date", "访问日期", "interview date", required=False,
          needed_by=("impact_year", "date_checks", "age_derivation", "wave_derivation")),
        C("gender", "category", "性别", "gender", allowed=("male", "female"), nullable=True,
          required=False, needed_by=("raking_margin", "subgroup", "balance")),
        C("age", "int", "年龄", "age", min_value=14, max_value=110, nullable=True, required=False,
          needed_by=("raking_margin", "subgroup", "balance")),
        C("birth_year", "int", "出生年份", "birth year", min_value=1900, max_value=2100,
          required=False, nullable=True, needed_by=("age_derivation",)),
        C("birth_date", "date", "出生日期", "birth date", min_value=1900, required=False,
          nullable=True, needed_by=("age_derivation",)),
        C("age_band", "category", "年龄段", "age band", allowed=("18-34", "35-59", "60+"),
          required=False, nullable=True, needed_by=("raking_margin", "subgroup")),
        C("hukou", "category", "户籍", "hukou", allowed=("local", "migrant"), nullable=True,
          required=False, needed_by=("raking_margin", "subgroup", "balance")),
        C("years_resident", "float", "居住年限", "years resident", min_value=0, max_value=110,
          required=False, nullable=True),
        C("education", "category", "受教育程度", "education",
          allowed=("primary", "junior", "senior", "college"), required=False, nullable=True),
        C("weight", "float", "抽样权重", "sampling weight", min_value=0, required=False,
          nullable=True),
    ),
)

SERVICES = TableSpec(
    name="services",
    label_zh="服务记录",
    label_en="Service records",
    key=("service_id",),
    columns=(
        C("service_id", "id", "服务编号", "service id", unique=True),
        C("community_id", "id", "社区编码", "community id"),
        C("service_date", "date", "服务日期", "service date"),
        C("block", "str", "服务板块", "service block"),
        C("method", "category", "服务方式", "method",
          allowed=("casework", "group", "event", "home_visit")),
        C("actor_community", "bool", "社区参与", "community involved"),
        C("actor_social_org", "bool", "社会组织参与", "social organisation involved"),
        C("actor_social_worker", "bool", "社工参与", "social worker involved"),
        C("actor_volunteer", "bool", "志愿者参与", "volunteers involved"),
        C("actor_charity", "bool", "慈善资源参与", "charitable resources involved"),
        C("participants", "int", "服务人次", "participants", min_value=0),
        C("volunteer_hours", "float", "志愿时长（小时）", "volunteer hours", min_value=0),
        C("cost_yuan", "float", "成本（元）", "cost (yuan)", min_value=0),
    ),
)

REQUESTS = TableSpec(
    name="requests",
    label_zh="居民诉求",
    label_en="Resident requests",
    key=("request_id",),
    columns=(
        C("request_id", "id", "工单编号", "request id", unique=True),
        C("community_id", "id", "社区编码", "community id"),
        C("received_at", "datetime", "受理时间", "received at"),
        C("resolved_at", "datetime", "办结时间", "resolved at", nullable=True),
        C("channel", "category", "渠道", "channel",
          allowed=("hotline", "walk_in", "wechat", "grid_worker")),
        C("category", "str", "诉求类别", "category"),
        C("satisfaction", "int", "满意度评价", "satisfaction", min_value=1, max_value=5,
          nullable=True),
    ),
)

del C

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (COMMUNITIES, COMMUNITY_PANEL, POPULATION_MARGINS, PILOTS, SURVEY, SERVICES, REQUESTS)
}


def table_spec(name: str) -> TableSpec:
    """Return the spec of table ``name``; a clear error lists the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        msg = f"unknown table {name!r}; known tables: {', '.join(TABLES)}"
        raise KeyError(msg) from None


def tables_markdown() -> str:
    """The data model as Markdown tables (``data/README.md`` embeds this; a test keeps it in sync)."""
    out: list[str] = []
    for spec in TABLES.values():
        out.append(f"### `{spec.name}` — {spec.label_zh} / {spec.label_en}\n")
        out.append(f"Key: {', '.join(f'`{k}`' for k in spec.key)}."
                   + (" Plus the survey items and columns the codebook declares." if spec.open_columns else "")
                   + "\n")
        out.append("| column | 中文表头 | kind | required | allowed / range | meaning |")
        out.append("|---|---|---|---|---|---|")
        for c in spec.columns:
            if c.allowed:
                rule = ", ".join(c.allowed)
            elif c.min_value is not None or c.max_value is not None:
                lo = "" if c.min_value is None else f"{c.min_value:g}"
                hi = "" if c.max_value is None else f"{c.max_value:g}"
                rule = f"{lo}–{hi}" if lo and hi else (f"≥ {lo}" if lo else f"≤ {hi}")
            else:
                rule = "unique" if c.unique else ""
            req = "yes" if c.required else "optional"
            if c.nullable:
                req += ", may be empty"
            if not c.required and c.needed_by:
                req += "; needed by " + ", ".join(ANALYSES[a][1] for a in c.needed_by)
            out.append(f"| `{c.name}` | {c.label_zh} | {c.kind} | {req} | {rule} | {c.label_en} |")
        out.append("")
    return "\n".join(out)
