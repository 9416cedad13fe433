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
from reach.followers.kernels import coverage_shares


def coverage_credit(graph: FollowerGraph, exposers: np.ndarray, excluded: np.ndarray,
                    marker: Marker | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(shapley_reach, incremental_reach) per exposer, in the order given."""
    keys = np.asarray(exposers, dtype=np.int64)
    marker = marker or Marker(graph.n)
    shapley = np.zeros(keys.size)
    incremental = np.zeros(keys.size, dtype=np.int64)
    marker.bits[excluded] = True
    coverage_shares(graph.offsets, graph.followers, keys, marker.bits, marker.counts,
                    shapley, incremental)
    marker.bits[excluded] = False
    return shapley, incremental
