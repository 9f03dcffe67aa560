// The encoder loop's CRF search (examples/crf_search.hpp) on made-up score curves: the largest
// passing CRF when quality falls with CRF, a local boundary when it does not, each CRF tried once,
// and the number of tries bounded.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>

#include "crf_search.hpp"

namespace {

int failures = 0;

void expect(bool ok, const char *what, int a, int b) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s (%d, %d)\n", what, a, b);
        ++failures;
    }
}

// Runs the search with `passes`, checking each CRF is tried once and within range.
CrfChoice search(int lo, int hi, const std::function<bool(int)> &passes, int *tries) {
    std::set<int> tried;
    *tries = 0;
    CrfChoice choice = largest_passing_crf(lo, hi, [&](int crf) {
        expect(crf >= lo && crf <= hi, "a try within the range", crf, lo);
        expect(tried.insert(crf).second, "each CRF tried once", crf, 0);
        ++*tries;
        return passes(crf);
    });
    int range = hi - lo;
    int most = range > 0 ? 2 + static_cast<int>(std::ceil(std::log2(range))) : 1;
    expect(*tries <= most, "tries within 2 + ceil(log2(range))", *tries, most);
    return choice;
}

}  // namespace

int main() {
    // Monotonic: CRFs up to `threshold` pass. Every threshold, below and above the range too.
    for (int lo : {0, 18, 30}) {
        for (int hi = lo; hi <= lo + 21; ++hi) {
            for (int threshold = lo - 1; threshold <= hi + 1; ++threshold) {
                int tries = 0;
                CrfChoice choice = search(lo, hi, [&](int crf) { return crf <= threshold; }, &tries);
                if (threshold < lo) {
                    expect(!choice.met && choice.crf == lo, "out of reach: the best CRF", choice.crf, threshold);
                } else {
                    expect(choice.met && choice.crf == std::min(threshold, hi), "the largest passing CRF", choice.crf,
                           threshold);
                }
            }
        }
    }
    // Not monotonic: a passing CRF whose next one fails (tried), whatever the curve.
    for (unsigned seed = 1; seed <= 200; ++seed) {
        unsigned state = seed;
        bool pass[52];
        for (bool &p : pass) {
            state = state * 1103515245u + 12345u;
            p = (state >> 16) & 1;
        }
        int tries = 0;
        std::set<int> tried_passing, tried_failing;
        CrfChoice choice = search(18, 45, [&](int crf) {
            (pass[crf] ? tried_passing : tried_failing).insert(crf);
            return pass[crf];
        }, &tries);
        if (choice.met) {
            expect(pass[choice.crf], "the choice passes", choice.crf, static_cast<int>(seed));
            expect(choice.crf == 45 || tried_failing.count(choice.crf + 1) == 1, "the CRF above failed",
                   choice.crf, static_cast<int>(seed));
        } else {
            expect(choice.crf == 18 && !pass[18] && !pass[45], "nothing passed at the ends", choice.crf,
                   static_cast<int>(seed));
        }
    }
    if (failures) return 1;
    std::puts("crf search: ok");
    return 0;
}
