package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link OtherLoad}: a share between 0 and 1 where /proc can be read, NaN where it cannot. */
class OtherLoadTest {

    @Test
    void isAShareOfTheMachineOrUnknown() throws Exception {
        OtherLoad a = OtherLoad.now();
        long end = System.nanoTime() + 50_000_000L;
        while (System.nanoTime() < end) {
            Thread.onSpinWait(); // let the clock tick at least once
        }
        double share = OtherLoad.now().since(a);
        assertTrue(Double.isNaN(share) || (share >= 0 && share <= 1), "share " + share);
        assertTrue(Double.isNaN(new OtherLoad(-1, -1, -1).since(a)));
        assertTrue(Double.isNaN(a.since(a)), "no time passed: unknown, not zero");
    }
}
