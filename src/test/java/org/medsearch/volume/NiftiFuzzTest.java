package org.medsearch.volume;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.medsearch.image.ReadLimits;

/**
 * Jazzer fuzz target for {@link NiftiReader}: any bytes must give a consistent volume or an
 * {@code ImageFormatException} that does not wrap a defect (see {@link NiftiFiles#readOrRefuse});
 * whatever parses then goes through reorientation and slice selection in every plane.
 *
 * <p>A normal {@code mvn test} replays the regression corpus in
 * {@code src/test/resources/org/medsearch/volume/NiftiFuzzTestInputs/<method>/}: small seeds nibabel
 * wrote (NIfTI-1 and -2, both byte orders, gzip, qform, sform, scaling, 4D, an extension) and every
 * crash the fuzzer has found. To fuzz one target (Jazzer fuzzes one per run):
 * {@code mvn -B -o test -Pfuzz -Dtest='NiftiFuzzTest#read' -Djazzer.max_duration=10m}; a new crash
 * lands in that directory, to be fixed and committed with it.
 */
class NiftiFuzzTest {

    /** Small limits keep executions fast and make the limit checks reachable from small inputs. */
    private static final ReadLimits LIMITS = new ReadLimits(1 << 20, 1 << 16);

    @FuzzTest(maxDuration = "10m")
    void read(byte[] data) {
        check(data);
    }

    /** The same bytes behind a valid gzip layer, which random mutation of a .nii.gz rarely gets through. */
    @FuzzTest(maxDuration = "10m")
    void readGzipped(byte[] data) {
        check(NiftiFiles.gzip(data));
    }

    private static void check(byte[] data) {
        Volume v = NiftiFiles.readOrRefuse(data, LIMITS);
        if (v != null) {
            for (Plane p : Plane.values()) {
                SliceSelector.selectMiddle(v, p, 3);
            }
        }
    }
}
