// The encoder loop's search: the largest CRF whose clip score reaches a target, by bisection.
//
// A higher CRF spends fewer bits, so quality (the vsrqa score) is expected to fall as CRF rises.
// The search tries the cheapest CRF first (enough when it passes), then the best (when it fails
// too, the target is out of reach and the best is kept), then bisects between a passing and a
// failing CRF. Each CRF is tried at most once, and at most 2 + ceil(log2(max - min)) are tried.
// When scores are not monotonic the result still passes and the CRF above it (if any) was tried
// and failed: a local boundary, which is what bisection can promise.
#pragma once

struct CrfChoice {
    int crf;
    // The target was reached at `crf` (else `crf` is the range's best, which missed it).
    bool met;
};

// `passes(crf)` encodes and scores at `crf`, returning whether the score reaches the target.
template <typename Passes>
CrfChoice largest_passing_crf(int min_crf, int max_crf, Passes &&passes) {
    if (passes(max_crf)) return {max_crf, true};
    if (min_crf == max_crf || !passes(min_crf)) return {min_crf, false};
    int good = min_crf, bad = max_crf;  // passes(good), !passes(bad)
    while (bad - good > 1) {
        int middle = good + (bad - good) / 2;
        if (passes(middle)) {
            good = middle;
        } else {
            bad = middle;
        }
    }
    return {good, true};
}
