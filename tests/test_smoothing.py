"""The one-euro filter: known answers (exponential smoothing, noise reduction) and its rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from genlmk.inference.smoothing import OneEuroFilter, OneEuroSettings, smoothing_factor


def test_without_beta_it_is_exponential_smoothing_with_the_min_cutoff():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(50, 3, 2)).cumsum(axis=0)
    smoothed = OneEuroFilter(OneEuroSettings(min_cutoff=2.0, beta=0.0), fps=30.0)(signal, np.arange(50))
    alpha = 2 * np.pi * 2.0 / 30.0 / (1 + 2 * np.pi * 2.0 / 30.0)
    # y_t = alpha x_t + (1 - alpha) y_{t-1}, started at y_0 = x_0
    expected = lfilter([alpha], [1, alpha - 1], signal[1:], axis=0, zi=((1 - alpha) * signal[:1]))[0]
    assert np.allclose(smoothed[0], signal[0]) and np.allclose(smoothed[1:], expected)


def test_jitter_on_a_still_landmark_shrinks_as_exponential_smoothing_predicts():
    rng = np.random.default_rng(1)
    noise = rng.normal(scale=1.0, size=(20000, 1, 2))
    smoothed = OneEuroFilter(OneEuroSettings(min_cutoff=1.0, beta=0.0), fps=25.0)(noise, np.arange(20000))
    alpha = smoothing_factor(1.0, 1 / 25.0)
    # white noise of variance 1 through y = a x + (1 - a) y': variance a / (2 - a)
    assert smoothed[100:].var() == pytest.approx(alpha / (2 - alpha), rel=0.1)


def test_a_constant_track_stays_put_and_speed_shortens_the_lag():
    still = np.tile([[[3.0, 4.0]]], (10, 1, 1))
    assert np.allclose(OneEuroFilter(fps=25.0)(still, np.arange(10)), still)
    ramp = np.stack([np.arange(40.0) * 5, np.zeros(40)], axis=-1)[:, None, :]  # 125 px/s
    lag = {}
    for beta in (0.0, 0.05):
        out = OneEuroFilter(OneEuroSettings(min_cutoff=1.0, beta=beta), fps=25.0)(ramp, np.arange(40))
        lag[beta] = ramp[-1, 0, 0] - out[-1, 0, 0]
    assert 0 < lag[0.05] < 0.3 * lag[0.0]


def test_a_gap_between_frames_counts_as_the_time_it_lasts():
    settings = OneEuroSettings(min_cutoff=1.0, beta=0.0)
    smooth = OneEuroFilter(settings, fps=10.0)
    smooth.step(np.zeros((1, 2)), 0)
    out = smooth.step(np.ones((1, 2)), 3)  # 0.3 s later
    assert np.allclose(out, smoothing_factor(1.0, 0.3))


def test_frames_must_increase_and_settings_must_be_valid():
    smooth = OneEuroFilter(fps=25.0)
    smooth.step(np.zeros((2, 2)), 4)
    with pytest.raises(ValueError, match="frames must increase: frame 4 after frame 4"):
        smooth.step(np.zeros((2, 2)), 4)
    smooth.reset()
    assert np.allclose(smooth.step(np.ones((2, 2)), 0), 1.0)  # after reset: taken as it is
    with pytest.raises(ValueError, match="min_cutoff > 0"):
        OneEuroSettings(min_cutoff=0.0)
    with pytest.raises(ValueError, match="fps must be positive"):
        OneEuroFilter(fps=0)
