"""Fair credit for reach: exact Shapley values of the coverage game.

The value of a coalition of exposers is how many distinct people they reach together,
|F(coalition) \\ A|. For such a coverage game the Shapley value has a closed form: each
reached person u splits one unit of credit equally among the exposers that reach u,

    shapley_reach(e) = Σ_{u reached by e} 1 / |{e' : e' reaches u}|,

so credits sum to total_reach exactly and cost one pass over the gathered followers.
``incremental_reach(e)`` counts the people only e reached (its marginal contribution
to the grand coalition).

References
----------
Shapley, "A value for n-person games", 1953. For coverage games: Chalkiadakis,
Elkind & Wooldridge, "Computational Aspects of Cooperative Game Theory", 2011, §3;
the same identity underlies Shapley attribution of reach in Dalessandro et al.,
"Causally motivated attribution for online advertising", ADKDD 2012.
"""

from __future__ import annotations

import numpy as np

from reach.followers.graph import FollowerGraph, Marker


def coverage_credit(graph: FollowerGraph, exposers: np.ndarray, excluded: np.ndarray,
                    marker: Marker | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(shapley_reach, incremental_reach) per exposer, in the order given."""
    fol, owner = graph.gather(exposers)
    marker = marker or Marker(graph.n)
    marker.bits[excluded] = True
    keep = ~marker.bits[fol]
    marker.bits[excluded] = False
    fol, owner = fol[keep], owner[keep]
    if fol.size == 0:
        return np.zeros(exposers.size), np.zeros(exposers.size, dtype=np.int64)
    people, inverse, counts = np.unique(fol, return_inverse=True, return_counts=True)
    c = counts[inverse]
    shapley = np.bincount(owner, weights=1.0 / c, minlength=exposers.size)
    incremental = np.bincount(owner, weights=(c == 1), minlength=exposers.size)
    return shapley, incremental.astype(np.int64)
