"""Uplift and engagement rates: coverage by simulation, warnings, hand-computed pieces."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests

from reach.counterfactual import structural_ts_rows
from reach.engagement import ORGANIC, post_engagement, rate_rows
from reach.uplift import UPLIFT_SCHEMA, UpliftSpec, adjust, glm_cell, uplift_rows

from .uplift_sim import NETWORK_EFFECTS, simulate, simulate_daily


def _z_scores(df: pl.DataFrame, truth: dict) -> np.ndarray:
    ok = df.filter(pl.col("warning").is_null())
    tr = np.array([truth[(c, n)] for c, n in zip(ok["campaign_id"], ok["network"],
                                                  strict=True)])
    return (ok["log_effect"].to_numpy() - tr) / ok["std_error"].to_numpy()


def test_nb_glm_intervals_cover_the_true_effect(measured):
    """Known effects per network (+0.30, +0.12, 0, −0.20): ≥85% coverage over ≥100 cells."""
    z = []
    for seed in (11, 12):
        posts, accounts, truth = simulate(seed, campaigns=30)
        df = uplift_rows(posts, accounts)
        assert df["warning"].null_count() == df.height, df["warning"].drop_nulls().to_list()
        z.append(_z_scores(df, truth))
    z = np.concatenate(z)
    coverage = float(np.mean(np.abs(z) <= 1.959964))
    measured(f"uplift nb_glm: 95% intervals cover the true effect in {coverage:.1%} of "
             f"{z.size} cells; mean z {z.mean():+.3f}, sd z {z.std():.3f}")
    assert z.size >= 100
    assert coverage >= 0.85
    # unbiased within their standard errors: the mean z-score is ~N(0, 1/n)
    assert abs(z.mean()) < 3 / np.sqrt(z.size)
    assert 0.8 < z.std() < 1.25


def test_structural_ts_intervals_cover_the_true_effect(measured):
    frame, truth = simulate_daily(5, cells=112)
    df = pl.DataFrame(structural_ts_rows(frame), schema=UPLIFT_SCHEMA)
    z = _z_scores(df, truth)
    coverage = float(np.mean(np.abs(z) <= 1.959964))
    measured(f"uplift structural_ts: 95% intervals cover the true effect in {coverage:.1%} of "
             f"{z.size} cells; mean z {z.mean():+.3f}, sd z {z.std():.3f}")
    assert z.size >= 100 and coverage >= 0.85
    # The daily log rate has a small Jensen bias (campaign days pool more posts): documented.
    assert abs(z.mean()) < 0.35


def test_estimates_follow_the_network_effects():
    posts, accounts, truth = simulate(3, campaigns=30)
    df = uplift_rows(posts, accounts)
    for net, effect in NETWORK_EFFECTS.items():
        part = df.filter(pl.col("network") == net)
        mean = part["log_effect"].mean()
        se = np.sqrt((part["std_error"] ** 2).sum()) / part.height
        true = np.mean([truth[(c, net)] for c in part["campaign_id"]])
        assert abs(mean - true) < 3.5 * se, (net, mean, true, se, effect)


def _cell(engagements, campaign, accounts=None, exposure=1000, basis="impressions",
          post_type="image", usable=True):
    n = len(engagements)
    return pl.DataFrame({
        "network": ["x"] * n, "post_id": [f"p{i}" for i in range(n)],
        "campaign_id": [campaign] * n,
        "account_id": accounts or ["a"] * n, "post_type": [post_type] * n,
        "created_at": [None] * n, "engagements": engagements, "exposure": [exposure] * n,
        "exposure_basis": [basis] * n, "usable": [usable] * n,
    }, schema_overrides={"campaign_id": pl.String, "created_at": pl.Datetime("us", "UTC"),
                         "engagements": pl.Int64, "account_id": pl.String,
                         "usable": pl.Boolean, "exposure": pl.Int64})


@pytest.mark.parametrize(("camp", "base", "warning"), [
    (_cell([5, 6], "c"), _cell([5] * 20, None), "too few campaign posts (2 < 3)"),
    (_cell([5, 6, 7], "c"), _cell([5] * 4, None), "too few baseline posts (4 < 10)"),
    (_cell([5, 6, 7], "c"), _cell([], None), "no baseline"),
    (_cell([5, 6, 7], "c"), _cell([5] * 20, None, accounts=["b"] * 20), "no baseline"),
    (_cell([0, 0, 0], "c"), _cell([5, 3, 4] * 5, None), "separation: every campaign post"),
    (_cell([4, 6, 7], "c", post_type="video"), _cell([5, 3, 4] * 5, None),
     "confounded"),
])
def test_cells_that_cannot_give_a_number_say_why(camp, base, warning):
    row = glm_cell(camp, base, UpliftSpec())
    assert warning in row["warning"]
    assert "uplift" not in row and "p_value" not in row


def test_unknown_counts_are_left_out_and_counted():
    camp = pl.concat([_cell([5, 6, 7, 9], "c"), _cell([1], "c", usable=False)])
    rng = np.random.default_rng(0)
    base = pl.concat([_cell(rng.poisson(5, 30).tolist(), None), _cell([2, 3], None, usable=False)])
    row = glm_cell(camp, base, UpliftSpec())
    assert row["posts_left_out"] == 3
    assert (row["n_campaign_posts"], row["n_baseline_posts"]) == (4, 30)
    assert row["warning"] is None
    assert row["ci_low"] < row["uplift"] < row["ci_high"]


def test_benjamini_hochberg_per_method():
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
    ts = out.filter(pl.col("method") == "structural_ts")["p_adjusted"].to_list()
    np.testing.assert_allclose(ts, [0.2, 0.02])


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
    import reach._cellwise as cw
    posts, accounts, _truth = simulate(21, campaigns=20)
    inline = uplift_rows(posts, accounts, spec=UpliftSpec(workers=1))
    monkeypatch.setattr(cw, "INLINE_BELOW", 0)
    parallel = uplift_rows(posts, accounts, spec=UpliftSpec(workers=2))
    # the same fits; single-threaded BLAS in the workers moves the last digits only
    from polars.testing import assert_frame_equal
    assert_frame_equal(parallel, inline, rel_tol=1e-6, abs_tol=1e-9)
