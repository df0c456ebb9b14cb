"""The bundled synthetic demo city (示范市): tables, raw field files and known true effects.

:func:`generate_demo_city` simulates a city of 48 communities in five
districts over 2020–2024 with a staggered roll-out of 三社联动 and 五社联动
pilots, five survey waves, a service log, resident requests and a panel of
inputs. Every table has the canonical columns of :mod:`evalkit.datamodel`.
The true treatment effects are planted in the simulation and returned in
``DemoCity.truth``, so estimators can be checked against them.

:func:`write_demo_city` writes the same city as the field delivers it (GBK and
BOM CSV with Chinese headers, Excel with an instructions sheet, SPSS with
value labels and user-missing codes, Parquet) plus ``study.yaml``,
``codebook.yaml``, ``truth.csv`` and a README that says the data are synthetic.

Generation is deterministic: the seed feeds a :class:`numpy.random.SeedSequence`
whose children drive the separate parts (world, services, requests, panel,
survey sample, latent outcomes, missing codes, personal data), so a change in
one part's code does not shift the draws of another. The data-generating
process is documented in ``DEMO.md`` beside this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.codebook import Codebook
from evalkit.datasets import demo_admin, demo_survey
from evalkit.datasets.demo_codebook import build_codebook
from evalkit.datasets.demo_files import FILES, write_city

__all__ = ["DEFAULT_SEED", "DemoCity", "FILES", "generate_demo_city", "write_demo_city"]

DEFAULT_SEED = 20240901


@frozen(eq=False)  # DataFrame fields: compare tables with pandas.testing
class DemoCity:
    """The synthetic demo city: canonical tables, the raw survey and the true effects.

    Attributes
    ----------
    communities, community_panel, population, pilots, survey, services, requests
        Canonical tables (columns of :mod:`evalkit.datamodel`). ``survey`` holds the
        codebook's items (named ``gain_1`` …, reverse items as asked, missing codes
        8/9 as NA) and no personal data.
    survey_raw
        The survey as delivered (``survey.sav``): source names (问卷编号, S1, A1 …),
        numeric codes, missing codes 8 = 不知道 and 9 = 拒答, and personal data
        (姓名, 身份证号, 手机号, 住址, 意见建议).
    truth
        The true effects; columns and levels are described in ``DEMO.md``.
    codebook
        The codebook (identical to the written ``codebook.yaml``).
    """

    seed: int
    communities: pd.DataFrame
    community_panel: pd.DataFrame
    population: pd.DataFrame
    pilots: pd.DataFrame
    survey: pd.DataFrame
    survey_raw: pd.DataFrame
    services: pd.DataFrame
    requests: pd.DataFrame
    truth: pd.DataFrame
    codebook: Codebook

    def tables(self) -> dict[str, pd.DataFrame]:
        """The canonical tables keyed by their :mod:`evalkit.datamodel` name."""
        return {
            "communities": self.communities,
            "community_panel": self.community_panel,
            "population": self.population,
            "pilots": self.pilots,
            "survey": self.survey,
            "services": self.services,
            "requests": self.requests,
        }


def generate_demo_city(seed: int = DEFAULT_SEED) -> DemoCity:
    """Simulate the demo city.

    Parameters
    ----------
    seed
        Seed of the simulation; the same seed gives identical tables on any machine.

    Returns
    -------
    DemoCity

    Examples
    --------
    >>> from evalkit.datasets.demo import generate_demo_city
    >>> city = generate_demo_city()
    >>> len(city.communities), city.survey["wave"].nunique()
    (48, 5)
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    world = demo_admin.make_world(rngs[0])
    services = demo_admin.make_services(world, rngs[1])
    requests = demo_admin.make_requests(world, rngs[2])
    panel = demo_admin.make_panel(world, services, rngs[3])
    pilots = demo_admin.make_pilots(world, rngs[3])
    sim = demo_survey.make_survey(world, rngs[4:8])
    return DemoCity(
        seed=seed,
        communities=world.registry,
        community_panel=panel,
        population=demo_admin.make_population(world),
        pilots=pilots,
        survey=sim.survey,
        survey_raw=sim.raw,
        services=services,
        requests=requests,
        truth=sim.truth,
        codebook=build_codebook(),
    )


def write_demo_city(folder: str | Path, seed: int = DEFAULT_SEED) -> Path:
    """Generate the demo city and write it as field files into ``folder``.

    The folder is created if needed; only the files in :data:`FILES` are
    (atomically) replaced, anything else in it is left alone.

    Returns
    -------
    pathlib.Path
        The path of the written ``study.yaml``.
    """
    return write_city(generate_demo_city(seed), Path(folder))
