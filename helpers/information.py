"""How much a response R tells about a stimulus S: entropies, mutual information and their bounds.

Estimators of I(S; R) = H(R) - H(R | S) from trials, each a (stimulus label, response) pair:

- :func:`discrete_mutual_information`: plug-in entropies of discretised responses, with the
  Miller-Madow bias correction (Miller 1955; Panzeri et al. 2007 review the bias problem);
- :func:`gaussian_mutual_information`: responses treated as Gaussian, from the total and the
  pooled within-stimulus covariance (exact for a Gaussian channel with Gaussian stimuli);
- :func:`decoder_lower_bound`: the (bias-corrected) information in the confusion matrix of a
  cross-validated decoder, a lower bound by the data-processing inequality;
- :func:`fano_lower_bound`: the information a decoder's accuracy certifies (Fano's inequality);
- :func:`independent_entropy_bound`: ``sum_k H(r_k) >= H(R)``, the entropy of a population if its
  neurons were independent, an upper bound on the response entropy.

Entropies are in bits. Stimulus labels are any hashable values; responses are arrays with one
row per trial (one column per neuron).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import _validate
from .rng import RandomLike, as_generator


def binary_entropy(p) -> np.ndarray:
    """``H_2(p) = -p log2 p - (1 - p) log2(1 - p)`` in bits (0 at p = 0 and 1)."""
    p = np.asarray(p, dtype=np.float64)
    return (special.entr(p) + special.entr(1.0 - p)) / np.log(2.0)


def plugin_entropy(counts) -> float:
    """``-sum p log2 p`` of the frequencies ``counts / sum(counts)`` (bits)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("counts must be a one-dimensional array of non-negative numbers with a positive sum")
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def miller_madow_entropy(counts) -> float:
    """Plug-in entropy plus the Miller-Madow correction ``(m - 1) / (2 n ln 2)`` bits.

    ``m`` is the number of occupied bins and ``n`` the number of samples: the leading term of the
    plug-in estimate's downward bias.
    """
    counts = np.asarray(counts, dtype=np.float64)
    occupied = int(np.count_nonzero(counts))
    return plugin_entropy(counts) + (occupied - 1) / (2.0 * counts.sum() * np.log(2.0))


def _codes(responses) -> np.ndarray:
    """One integer per trial for each distinct response row (the "word" of the population)."""
    responses = np.asarray(responses)
    if responses.ndim == 1:
        responses = responses[:, None]
    if responses.ndim != 2 or responses.shape[0] < 2:
        raise ValueError(f"responses must have one row per trial (at least 2), got shape {responses.shape}")
    return np.unique(responses, axis=0, return_inverse=True)[1].ravel()


def _labels(stimuli, n_trials: int) -> np.ndarray:
    stimuli = np.asarray(stimuli)
    if stimuli.shape != (n_trials,):
        raise ValueError(f"stimuli must hold one label per trial ({n_trials}), got shape {stimuli.shape}")
    return np.unique(stimuli, return_inverse=True)[1].ravel()


def discrete_mutual_information(stimuli, responses, correction: str = "miller-madow") -> float:
    """``I(S; R) = H(R) - sum_s p(s) H(R | s)`` from discretised responses (bits).

    ``responses`` hold discrete values (spike counts, binned rates), one row per trial; a row is one
    response word. ``correction="miller-madow"`` corrects each entropy for its sampling bias,
    ``"none"`` gives the plug-in estimate, which overestimates the information when trials per
    stimulus are few against the number of possible words.
    """
    if correction not in ("miller-madow", "none"):
        raise ValueError(f"correction must be 'miller-madow' or 'none', got {correction!r}")
    words = _codes(responses)
    labels = _labels(stimuli, words.size)
    entropy = miller_madow_entropy if correction == "miller-madow" else plugin_entropy
    total = entropy(np.bincount(words))
    conditional = 0.0
    for s in range(labels.max() + 1):
        mine = words[labels == s]
        conditional += mine.size / words.size * entropy(np.bincount(mine))
    return total - conditional


def gaussian_mutual_information(stimuli, responses) -> float:
    """``1/2 log2 det(C_total) - 1/2 log2 det(C_within)`` (bits), the Gaussian-channel estimate.

    ``C_total`` is the covariance of all responses, ``C_within`` the covariance of the responses
    around their stimulus's mean, pooled over stimuli. For Gaussian stimulus means and Gaussian
    noise this is I(S; R) exactly; for other response distributions with that noise it is an upper
    bound, because a Gaussian has the largest entropy at a given covariance.
    """
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim == 1:
        responses = responses[:, None]
    labels = _labels(stimuli, responses.shape[0])
    n_stimuli = labels.max() + 1
    if responses.shape[0] - n_stimuli < responses.shape[1] + 1:
        raise ValueError("too few repeated trials to estimate the within-stimulus covariance")
    means = np.zeros((n_stimuli, responses.shape[1]))
    np.add.at(means, labels, responses)
    means /= np.bincount(labels)[:, None]
    residuals = responses - means[labels]
    within = residuals.T @ residuals / (responses.shape[0] - n_stimuli)
    total = np.atleast_2d(np.cov(responses, rowvar=False))
    sign_t, logdet_t = np.linalg.slogdet(total)
    sign_w, logdet_w = np.linalg.slogdet(within)
    if sign_t <= 0 or sign_w <= 0:
        raise ValueError("the response covariance is singular: drop constant or duplicated neurons")
    return float(0.5 * (logdet_t - logdet_w) / np.log(2.0))


def confusion_information(confusion, correction: str = "miller-madow") -> float:
    """The mutual information (bits) between true and decoded stimulus of a confusion matrix.

    ``confusion[s, d]`` counts the trials of stimulus ``s`` decoded as ``d``. With
    ``correction="miller-madow"`` each entropy is bias-corrected, as in
    :func:`discrete_mutual_information`: the plug-in value of a confusion matrix with ``S``
    stimuli and ``n`` trials is biased up by about ``(S - 1)^2 / (2 n ln 2)`` bits when the
    decoder is at chance. ``"none"`` gives the plug-in value.
    """
    if correction not in ("miller-madow", "none"):
        raise ValueError(f"correction must be 'miller-madow' or 'none', got {correction!r}")
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or np.any(confusion < 0):
        raise ValueError("confusion must be a square matrix of non-negative counts")
    entropy = miller_madow_entropy if correction == "miller-madow" else plugin_entropy
    trials = confusion.sum(axis=1)
    conditional = sum(n / trials.sum() * entropy(row) for n, row in zip(trials, confusion, strict=True) if n > 0)
    return entropy(confusion.sum(axis=0)) - conditional


def decoder_lower_bound(stimuli, responses, rng: RandomLike = None, n_folds: int = 5):
    """``(information, confusion)``: a lower bound on I(S; R) from a cross-validated decoder.

    Each trial is decoded as the stimulus whose mean response (from the other folds) is nearest
    in Euclidean distance; the confusion matrix of true against decoded stimuli carries at most
    the information in the responses (data-processing inequality), so its information is a lower
    bound. It is computed with the Miller-Madow correction (:func:`confusion_information`):
    uncorrected, the confusion matrix of a decoder at chance reports information that is not there.
    """
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim == 1:
        responses = responses[:, None]
    labels = _labels(stimuli, responses.shape[0])
    n_folds = _validate.integer_at_least("n_folds", n_folds, 2)
    n_stimuli = labels.max() + 1
    if np.bincount(labels).min() < n_folds:
        raise ValueError(f"every stimulus needs at least n_folds = {n_folds} trials")
    # Folds stratified by stimulus: each stimulus's trials are dealt round-robin in random order.
    fold = np.empty(labels.size, dtype=np.int64)
    generator = as_generator(rng)
    for s in range(n_stimuli):
        mine = np.flatnonzero(labels == s)
        fold[generator.permutation(mine)] = np.arange(mine.size) % n_folds
    confusion = np.zeros((n_stimuli, n_stimuli))
    for k in range(n_folds):
        train, test = fold != k, fold == k
        means = np.zeros((n_stimuli, responses.shape[1]))
        np.add.at(means, labels[train], responses[train])
        means /= np.bincount(labels[train], minlength=n_stimuli)[:, None]
        distances = ((responses[test, None, :] - means[None, :, :]) ** 2).sum(axis=2)
        np.add.at(confusion, (labels[test], distances.argmin(axis=1)), 1.0)
    return confusion_information(confusion), confusion


def fano_lower_bound(accuracy, n_stimuli: int) -> np.ndarray:
    """``log2 S - H_2(e) - e log2(S - 1)`` (bits), with ``e = 1 - accuracy``: Fano's inequality.

    For ``S`` equiprobable stimuli, any decoder that is right with probability ``accuracy``
    certifies at least this much information in the responses. It depends on the data only
    through one proportion, so with few trials it is far less biased than the information of a
    whole confusion matrix; it is 0 at chance (``accuracy = 1 / S``) and ``log2 S`` when the
    decoder is always right.
    """
    n_stimuli = _validate.integer_at_least("n_stimuli", n_stimuli, 2)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if np.any((accuracy < 0) | (accuracy > 1)):
        raise ValueError("accuracy must be in [0, 1]")
    error = 1.0 - accuracy
    return np.log2(n_stimuli) - binary_entropy(error) - error * np.log2(n_stimuli - 1)


def independent_entropy_bound(responses, correction: str = "miller-madow") -> float:
    """``sum_k H(r_k)`` (bits): the population's response entropy if its neurons were independent.

    ``H(R) <= sum_k H(r_k)``, with equality for independent neurons: an upper bound on the
    response entropy, and so on I(S; R) = H(R) - H(R | S) <= H(R).
    """
    responses = np.asarray(responses)
    if responses.ndim == 1:
        responses = responses[:, None]
    if correction not in ("miller-madow", "none"):
        raise ValueError(f"correction must be 'miller-madow' or 'none', got {correction!r}")
    entropy = miller_madow_entropy if correction == "miller-madow" else plugin_entropy
    return float(sum(entropy(np.bincount(_codes(responses[:, k]))) for k in range(responses.shape[1])))


def quantile_levels(responses, n_levels: int) -> np.ndarray:
    """Discretise each neuron's responses into at most ``n_levels`` levels at its own quantiles.

    The cut points are the ``k / n_levels`` quantiles of the neuron's responses pooled over all
    trials, so each level holds about the same share of trials; tied values (spike counts) stay
    together, which can leave fewer levels. Returns integer levels, shaped as ``responses``.
    """
    n_levels = _validate.integer_at_least("n_levels", n_levels, 2)
    responses = np.asarray(responses, dtype=np.float64)
    single = responses.ndim == 1
    columns = responses[:, None] if single else responses
    if columns.ndim != 2:
        raise ValueError(f"responses must have one row per trial, got shape {responses.shape}")
    levels = np.empty(columns.shape, dtype=np.int64)
    for k in range(columns.shape[1]):
        cuts = np.unique(np.quantile(columns[:, k], np.arange(1, n_levels) / n_levels))
        levels[:, k] = np.searchsorted(cuts, columns[:, k], side="left")
    return levels[:, 0] if single else levels


def bootstrap_information(estimator, stimuli, responses, n_boot: int = 100, rng: RandomLike = None) -> np.ndarray:
    """``estimator(stimuli, responses)`` on ``n_boot`` resamples of the trials (bits).

    Each resample draws, for every stimulus, as many of its trials as it has, with replacement:
    the spread of the values is the sampling uncertainty of the estimate (its standard error is
    their standard deviation).
    """
    n_boot = _validate.integer_at_least("n_boot", n_boot, 2)
    responses = np.asarray(responses)
    labels = _labels(stimuli, responses.shape[0])
    generator = as_generator(rng)
    groups = [np.flatnonzero(labels == s) for s in range(labels.max() + 1)]
    values = np.empty(n_boot)
    for b in range(n_boot):
        chosen = np.concatenate([generator.choice(group, group.size) for group in groups])
        values[b] = estimator(labels[chosen], responses[chosen])
    return values
