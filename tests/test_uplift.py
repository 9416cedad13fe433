"""Uplift pieces against independent computations, warnings, and engagement rates by hand.

How the whole mart behaves under trends, scheduling and selection is in
test_uplift_calibration.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.statespace.structural import UnobservedComponents

from reach.uplift.counterfactual import _LevelWithControl
from reach.uplift.engagement import ORGANIC, post_engagement, rate_rows
from reach.uplift.mart import (
    PAIR,
    UPLIFT_SCHEMA,
    UpliftSpec,
    _fit_nb,
    adjust,
    beta_gradient,
    comparable,
    glm_cell,
    uplift_mart,
)
from reach.uplift.placebo import _systematic_error, fake_cells
from reach.uplift.time_effects import fit_time_effects, poisson_profiled, profiled_sandwich, weekday

from .uplift_scenarios import simulate_lake

DAY = 20_000  # days since the epoch: 2024-10-04, a Friday


def _cell(engagements, campaign, accounts=None, exposure=1000, basis="impressions",
          post_type="image", usable=True, days=None):
    n = len(engagements)
    return pl.DataFrame({
        "network": ["x"] * n, "post_id": [f"p{i}" for i in range(n)],
        "campaign_id": [campaign] * n,
        "account_id": accounts or ["a"] * n, "post_type": [post_type] * n,
        "day": days if days is not None else [DAY - 30 + i % 30 for i in range(n)],
        "engagements": engagements, "exposure": [exposure] * n,
        "exposure_basis": [basis] * n, "usable": [usable] * n, "time_offset": [0.0] * n,
    }, schema_overrides={"campaign_id": pl.String, "engagements": pl.Int64,
                         "account_id": pl.String, "usable": pl.Boolean,
                         "exposure": pl.Int64, "day": pl.Int64, "time_offset": pl.Float64}
    ).with_columns(PAIR)


def _camp(engagements, **kw):
    return _cell(engagements, "c", days=[DAY + i % 14 for i in range(len(engagements))], **kw)


@pytest.mark.parametrize(("camp", "base", "warning"), [
    (_camp([5, 6]), _cell([5] * 20, None), "too few campaign posts (2 < 3)"),
    (_camp([5, 6, 7]), _cell([5] * 4, None), "too few baseline posts (4 < 10)"),
    (_camp([5, 6, 7]), _cell([], None), "no baseline"),
    (_camp([5, 6, 7]), _cell([5] * 20, None, accounts=["b"] * 20), "no baseline"),
    (_camp([5, 6, 7]), _cell([5] * 20, None, basis="followers"), "no baseline"),
    (_camp([0, 0, 0]), _cell([5, 3, 4] * 5, None), "separation: every campaign post"),
    (_camp([4, 6, 7], post_type="video"), _cell([5, 3, 4] * 5, None), "confounded"),
])
def test_cells_that_cannot_give_a_number_say_why(camp, base, warning):
    row = glm_cell(camp, base, UpliftSpec())
    assert warning in row["warning"]
    assert "uplift" not in row and "p_value" not in row


def test_only_comparable_posts_are_compared_and_the_rest_counted():
    """An influencer without organic posts, a campaign post on impressions whose author's
    history has only followers, an unknown count: left out, and counted."""
    rng = np.random.default_rng(0)
    camp = pl.concat([_camp([5, 6, 7, 9]), _camp([50, 60], accounts=["influencer"] * 2),
                      _camp([1], usable=False), _camp([8], accounts=["b"])])
    base = pl.concat([_cell(rng.poisson(5, 30).tolist(), None),
                      _cell([2, 3], None, usable=False),
                      _cell([4] * 5, None, accounts=["b"] * 5, basis="followers")])
    c_use, b_use = comparable(camp, base)
    assert c_use.tolist() == [True] * 4 + [False] * 4
    assert b_use.sum() == 30
    row = glm_cell(camp, base, UpliftSpec())
    assert (row["n_campaign_posts"], row["n_baseline_posts"]) == (4, 30)
    assert row["posts_left_out"] == 4 + 2 + 5
    assert row["warning"] is None and row["ci_low"] < row["uplift"] < row["ci_high"]


def test_nb_glm_equals_a_direct_negative_binomial_fit():
    """The cell's β and its standard error equal statsmodels' joint NB2 ML fit of the same
    design (author levels, window level, offset log exposure + time effect)."""
    rng = np.random.default_rng(3)
    n_b, n_c = 60, 12
    base = _cell(rng.negative_binomial(4, 4 / (4 + 30), n_b).tolist(), None,
                 accounts=["a", "b"] * (n_b // 2), days=[DAY - 46 + i for i in range(n_b)])
    camp = _camp(rng.negative_binomial(4, 4 / (4 + 40), n_c).tolist(),
                 accounts=["a", "b"] * (n_c // 2))
    offsets = {d: 0.01 * (d - DAY) for d in range(DAY - 46, DAY + 14)}
    camp, base = (f.with_columns(pl.col("day").replace_strict(offsets).alias("time_offset"))
                  for f in (camp, base))
    row = glm_cell(camp, base, UpliftSpec())
    data = pl.concat([camp, base.filter(pl.col("day") <= camp["day"].max())])
    t = (data["campaign_id"] == "c").fill_null(False).to_numpy().astype(float)
    in_window = (data["day"] >= DAY).to_numpy()
    b = (data["account_id"] == "b").to_numpy()
    X = np.column_stack([np.ones(t.size), t, b, in_window & ~b, in_window & b]).astype(float)
    offset = np.log(data["exposure"].to_numpy()) + data["time_offset"].to_numpy()
    ref = sm.NegativeBinomial(data["engagements"].to_numpy(), X, offset=offset).fit(
        disp=False, maxiter=500)
    assert row["log_effect"] == pytest.approx(ref.params[1], abs=2e-3)
    assert row["std_error"] == pytest.approx(ref.bse[1], rel=0.02)


def test_an_author_posting_organically_during_the_campaign_is_compared_on_those_days():
    """Engagement doubles from the campaign's first day for every post of the author
    (a rise, not the campaign): with same-days organic posts the effect is ≈ 0."""
    rng = np.random.default_rng(5)
    days = list(range(DAY - 90, DAY + 14))
    base = _cell([int(rng.poisson(100 if d < DAY else 200)) for d in days], None, days=days)
    camp = _camp(rng.poisson(200, 14).tolist())
    row = glm_cell(camp, base, UpliftSpec())
    assert abs(row["log_effect"]) < 2.5 * row["std_error"], row
    history_only = glm_cell(camp, base.filter(pl.col("day") < DAY), UpliftSpec())
    assert history_only["log_effect"] == pytest.approx(np.log(2), abs=0.1)


def test_poisson_with_profiled_levels_equals_the_dummy_fit():
    rng = np.random.default_rng(1)
    n, groups = 400, 7
    g = rng.integers(0, groups, n)
    X = rng.normal(size=(n, 3))
    e = rng.uniform(100, 1000, n)
    y = rng.poisson(e * 0.01 * np.exp(X @ [0.3, -0.2, 0.1] + rng.normal(0, 0.5, groups)[g]))
    beta, level = poisson_profiled(y.astype(float), e, X, g)
    dummies = (g[:, None] == np.arange(groups)).astype(float)
    ref = sm.GLM(y, np.column_stack([X, dummies]), family=sm.families.Poisson(),
                 offset=np.log(e)).fit()
    np.testing.assert_allclose(beta, ref.params[:3], atol=1e-7)
    np.testing.assert_allclose(level, ref.params[3:], atol=1e-7)
    # no column at all (one post type): the levels alone, log(Σy / Σexposure) per group
    beta0, level0 = poisson_profiled(y.astype(float), e, X[:, :0], g)
    assert beta0.size == 0
    np.testing.assert_allclose(level0, np.log(np.bincount(g, y) / np.bincount(g, e)))


def test_the_day_clustered_sandwich_equals_statsmodels():
    rng = np.random.default_rng(9)
    n, groups = 600, 5
    g, day = rng.integers(0, groups, n), rng.integers(0, 40, n)
    X = rng.normal(size=(n, 2))
    e = rng.uniform(100, 1000, n)
    y = rng.negative_binomial(3, 3 / (3 + e * 0.01 * np.exp(X @ [0.2, -0.1] + g * 0.1)))
    beta, level = poisson_profiled(y.astype(float), e, X, g)
    ours = profiled_sandwich(y.astype(float), e, X, g, beta, level, cluster=day)
    dummies = (g[:, None] == np.arange(groups)).astype(float)
    ref = sm.GLM(y, np.column_stack([X, dummies]), family=sm.families.Poisson(),
                 offset=np.log(e)).fit(cov_type="cluster",
                                       cov_kwds={"groups": day, "use_correction": False})
    np.testing.assert_allclose(ours, ref.cov_params()[:2, :2], rtol=1e-6)


def test_the_time_effects_error_enters_through_the_right_gradient():
    """dβ̂/dθ of the cell fit, analytic vs moving the offset and refitting."""
    rng = np.random.default_rng(10)
    days = list(range(DAY - 60, DAY + 14, 2))  # organic posts every other day
    base = _cell(rng.negative_binomial(3, 3 / (3 + 40), len(days)).tolist(), None, days=days)
    camp = _camp(rng.negative_binomial(3, 3 / (3 + 50), 14).tolist())
    data = pl.concat([camp, base]).filter(pl.col("day") <= camp["day"].max())
    t = (data["campaign_id"] == "c").fill_null(False).to_numpy()
    window = (data["day"] >= DAY).to_numpy()
    X = np.column_stack([np.ones(t.size), t, window]).astype(float)
    y = data["engagements"].to_numpy().astype(float)
    D = np.column_stack([(data["day"].to_numpy() % 7 == 0), data["day"].to_numpy() / 100.0])
    offset = np.log(data["exposure"].to_numpy().astype(float))
    fit = _fit_nb(y, X, offset)
    family = sm.families.NegativeBinomial(alpha=fit.model.family.alpha)

    def beta(shift):
        return sm.GLM(y, X, offset=offset + shift, family=family).fit(tol=1e-13).params[1]
    eps = 1e-4
    numeric = [(beta(eps * D[:, j]) - beta(-eps * D[:, j])) / (2 * eps) for j in range(2)]
    assert np.abs(numeric).max() > 0.01  # the days differ: the offset moves β
    np.testing.assert_allclose(beta_gradient(fit, X, D), numeric, rtol=1e-3, atol=1e-6)


def test_time_effects_recover_a_known_weekday_pattern_and_trend():
    rng = np.random.default_rng(2)
    day = np.repeat(np.arange(DAY, DAY + 200), 40)
    acc = rng.integers(0, 20, day.size)
    true = 0.25 * (weekday(day) >= 5) + 0.003 * (day - DAY)
    e = rng.uniform(1e4, 5e4, day.size)
    y = rng.poisson(e * 0.01 * np.exp(rng.normal(0, 0.5, 20)[acc] + true))
    organic = pl.DataFrame({"account_id": [f"a{a}" for a in acc], "exposure_basis": "impressions",
                            "post_type": "image", "day": day, "engagements": y, "exposure": e})
    effects = fit_time_effects(organic)
    fitted = effects(day)
    # up to a constant (absorbed by the author levels)
    np.testing.assert_allclose(fitted - fitted.mean(), true - true.mean(), atol=0.02)
    assert effects.posts == day.size
    assert "too little organic history" in fit_time_effects(organic.head(50))


def test_level_with_control_equals_statsmodels_when_days_carry_no_count_noise():
    """With v_d = 0 the model is a local level with a regression coefficient in the state:
    statsmodels' UnobservedComponents(mle_regression=False) is the same model."""
    rng = np.random.default_rng(4)
    n = 90
    control = 0.3 * (np.arange(n) % 7 >= 5) + rng.normal(0, 0.05, n)
    r = np.cumsum(rng.normal(0, 0.02, n)) + 0.8 * control + rng.normal(0, 0.1, n)
    r[rng.random(n) < 0.1] = np.nan
    ours = _LevelWithControl(r, control, np.zeros(n)).fit(disp=False)
    ref = UnobservedComponents(r, level="local level", exog=control,
                               mle_regression=False).fit(disp=False)
    np.testing.assert_allclose(ours.params, ref.params, rtol=2e-3)
    np.testing.assert_allclose(ours.filtered_state[:, -1], ref.filtered_state[:, -1],
                               atol=1e-4)


def test_fake_campaigns_lie_before_the_real_one_and_split_same_days_authors():
    base = pl.concat([_cell([5] * 120, None, days=list(range(DAY - 100, DAY + 20))),
                      _cell([5] * 100, None, accounts=["b"] * 100,
                            days=list(range(DAY - 100, DAY)))])
    camp = _camp([5] * 14, accounts=["a"] * 7 + ["b"] * 7)
    fakes = list(fake_cells(camp, base, 3))
    assert len(fakes) == 3
    for j, (fc, fb) in enumerate(fakes):
        lo, hi = DAY - 14 * (j + 1), DAY - 14 * j - 1
        assert fc["day"].min() >= lo and fc["day"].max() <= hi
        assert (fc["campaign_id"] == "placebo").all()
        # b posted nothing organic during the real campaign: all its window posts play it
        assert fc.filter(pl.col("account_id") == "b").height == 14
        # a did: about half of its window posts play the campaign, the rest stay baseline
        a_fake = fc.filter(pl.col("account_id") == "a").height
        assert 0 < a_fake < 14
        assert fb.filter(pl.col("account_id") == "a",
                         pl.col("day").is_between(lo, hi)).height == 14 - a_fake
        assert fb.filter(pl.col("day") > hi).is_empty()


def test_systematic_error_is_found_by_maximum_likelihood():
    rng = np.random.default_rng(6)
    s = rng.uniform(0.1, 0.3, 4000)
    b = rng.normal(0.1, np.sqrt(0.15 ** 2 + s ** 2))
    fit = _systematic_error(np.column_stack([b, s]))
    assert fit["bias"] == pytest.approx(0.1, abs=0.015)
    assert fit["sd"] == pytest.approx(0.15, abs=0.015)
    assert f"err by {fit['bias']:+.3f}" in fit["note"] and "far above 5 %" in fit["note"]
    calm = _systematic_error(np.column_stack([rng.normal(0, s), s]))
    assert calm["sd"] < 0.03 and "consistent with 5 %" in calm["note"]
    assert "too few" in _systematic_error(np.column_stack([b[:5], s[:5]]))["note"]


def test_benjamini_hochberg_per_method_names_its_family():
    df = pl.DataFrame([
        {"campaign_id": f"c{i}", "network": "x", "p_value": p, "method": m}
        for i, (p, m) in enumerate([(0.01, "nb_glm"), (0.04, "nb_glm"), (0.03, "nb_glm"),
                                    (None, "nb_glm"), (0.2, "structural_ts"),
                                    (0.01, "structural_ts")])], schema=UPLIFT_SCHEMA)
    out = adjust(df)
    glm = out.filter(pl.col("method") == "nb_glm")
    expected = multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1]
    np.testing.assert_allclose(glm["p_adjusted"].drop_nulls().to_numpy(), expected)
    assert glm["p_adjusted"].null_count() == 1  # no p-value, no adjusted one
    # by hand: m=3 sorted p (0.01, 0.03, 0.04) → min over k of p·3/k from the top: 0.03, 0.04, 0.04
    np.testing.assert_allclose(expected, [0.03, 0.04, 0.04])
    assert glm["adjustment"].drop_nulls().unique().to_list() == [
        "Benjamini–Hochberg over the 3 nb_glm cells with a p-value in this run"]
    ts = out.filter(pl.col("method") == "structural_ts")["p_adjusted"].to_list()
    np.testing.assert_allclose(ts, [0.2, 0.02])


def test_a_network_without_organic_history_says_so_and_posts_without_time_are_left_out():
    posts, accounts, _ = simulate_lake("null", 8, campaigns=6, networks=("x", "linkedin"))
    posts = posts.filter((pl.col("network") == "x") | pl.col("campaign_id").is_not_null())
    no_time = posts.filter(pl.col("campaign_id") == "c000", pl.col("network") == "linkedin"
                           ).head(2)["post_id"]
    posts = posts.with_columns(pl.when(pl.col("post_id").is_in(no_time.implode()))
                               .then(None).otherwise(pl.col("created_at")).alias("created_at"))
    mart = uplift_mart(post_engagement(posts.lazy(), accounts.lazy()))
    linkedin = mart.filter(pl.col("network") == "linkedin")
    assert linkedin["uplift"].null_count() == linkedin.height
    assert linkedin["warning"].str.contains("too little organic history on the network").all()
    x = mart.filter(pl.col("network") == "x", pl.col("method") == "nb_glm")
    assert x["uplift"].null_count() < x.height
    assert set(mart.columns) == set(UPLIFT_SCHEMA)


def test_engagement_rate_by_hand():
    posts = pl.DataFrame({
        "network": ["x"] * 5, "post_id": list("abcde"), "account_id": ["u"] * 5,
        "created_at": [None] * 5, "campaign_id": ["c", "c", "c", None, None],
        "post_type": ["image"] * 5, "impressions": [100, 200, None, 50, 50],
        "likes": [10, 10, 3, 1, None], "comments": [0, 5, 0, 0, 0], "shares": [0, 5, 0, 1, 0],
    }, schema_overrides={"campaign_id": pl.String, "created_at": pl.Datetime("us", "UTC"),
                         "impressions": pl.Int64}).lazy()
    accounts = pl.DataFrame({"network": ["x"], "account_id": ["u"],
                             "followers_count": [1000]}).lazy()
    frame = post_engagement(posts, accounts)
    assert frame.filter(pl.col("post_id") == "c")["exposure_basis"].item() == "followers"
    rates = rate_rows(frame)
    c = rates.filter(pl.col("campaign_id") == "c").row(0, named=True)
    y, e = np.array([10, 20, 3]), np.array([100, 200, 1000])
    r = y.sum() / e.sum()
    se = np.sqrt(3 / 2 * np.sum((y - r * e) ** 2)) / e.sum()
    assert c["engagement_rate"] == pytest.approx(r)
    assert c["rate_high"] == pytest.approx(r + 1.959964 * se)
    assert c["exposure_basis"] == "followers+impressions"
    organic = rates.filter(pl.col("campaign_id") == ORGANIC).row(0, named=True)
    assert (organic["posts"], organic["posts_left_out"]) == (1, 1)
    assert organic["rate_low"] is None  # one post: no interval, not a fake one


def test_parallel_fits_equal_inline_fits(monkeypatch):
    import reach.uplift.cellwise as cw
    posts, accounts, _ = simulate_lake("weekly", 21, campaigns=5)
    frame = post_engagement(posts.lazy(), accounts.lazy())
    inline = uplift_mart(frame, spec=UpliftSpec(workers=1))
    monkeypatch.setattr(cw, "INLINE_BELOW", 0)
    parallel = uplift_mart(frame, spec=UpliftSpec(workers=2))
    # the same fits; single-threaded BLAS in the workers moves the last digits, and the
    # state-space likelihood's optimiser stops within ~1e-5 of its optimum either way
    from polars.testing import assert_frame_equal
    assert_frame_equal(parallel, inline, rel_tol=1e-4, abs_tol=1e-6)


def test_dates_of_the_scenarios_are_what_the_weekday_rule_assumes():
    assert weekday(np.array([(datetime(2026, 1, 5, tzinfo=UTC)
                              - datetime(1970, 1, 1, tzinfo=UTC)).days]))[0] == 0
    assert weekday(np.array([DAY]))[0] == (datetime(1970, 1, 1) + timedelta(DAY)).weekday()


def test_the_mart_does_not_depend_on_the_order_of_rows():
    """The same posts in another order (another file layout, a join's output order) give
    the same mart to the last bit: the fits add their sums in row order, and a fit near
    a test (convergence, a placebo's significance) once came out either way from run to
    run. post_engagement sorts by key; the time effects sort their day groups."""
    posts, accounts, _ = simulate_lake("weekly", 5, campaigns=4)
    spec = UpliftSpec(workers=1)
    want = uplift_mart(post_engagement(posts.lazy(), accounts.lazy()), spec=spec)
    shuffled = posts.sample(fraction=1.0, shuffle=True, seed=1)
    got = uplift_mart(post_engagement(shuffled.lazy(), accounts.lazy()), spec=spec)
    assert got.equals(want)
    organic = (post_engagement(posts.lazy(), accounts.lazy())
               .filter(pl.col("campaign_id").is_null(), "usable")
               .with_columns(pl.col("created_at").dt.epoch("d").alias("day")))
    fits = [fit_time_effects(organic.sample(fraction=1.0, shuffle=True, seed=s))
            for s in range(3)]
    assert all(np.array_equal(f.coef, fits[0].coef) and np.array_equal(f.cov, fits[0].cov)
               for f in fits)
