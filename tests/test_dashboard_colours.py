"""Network colours stay apart for people with a colour-vision deficiency.

Each colour is passed through Machado, Oliveira & Fernandes (2009)'s simulation of full
protanopia, deuteranopia and tritanopia (in linear RGB), then every pair of networks
must differ by at least ΔE*ab 15 in CIELAB (6× the just-noticeable difference, 2.3) for every
kind of vision, and from the white page by 25. The worst pairs (deuteranopia: instagram
– linkedin 17.9; tritanopia: linkedin – bluesky 16.1) are still told apart.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from dashboards.format import NETWORK_COLOURS

MACHADO = {  # severity 1.0
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
NETWORKS = ["x", "instagram", "facebook", "linkedin", "tiktok", "youtube", "bluesky"]


def _lab(hex_colour: str, vision: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(MACHADO[vision] @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", list(MACHADO))
def test_every_pair_of_networks_is_told_apart(vision):
    worst = min((float(np.linalg.norm(_lab(NETWORK_COLOURS[a], vision)
                                      - _lab(NETWORK_COLOURS[b], vision))), a, b)
                for a, b in combinations(NETWORKS, 2))
    assert worst[0] >= 15, worst


@pytest.mark.parametrize("vision", list(MACHADO))
def test_every_network_shows_on_a_white_page(vision):
    white = _lab("#ffffff", vision)
    for net in NETWORKS:
        assert np.linalg.norm(_lab(NETWORK_COLOURS[net], vision) - white) >= 25, net
