package org.medsearch.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much of the machine other processes used between two readings, from Linux's
 * {@code /proc/stat} (all CPU time) and {@code /proc/self/stat} (this process's, and that of its
 * children it has waited for, such as the reference): {@code bench} prints it beside each figure,
 * since on a shared machine a ratio is only as good as the quiet it was measured in.
 *
 * <pre>{@code
 * OtherLoad t0 = OtherLoad.now();
 * ... measure ...
 * double others = OtherLoad.now().since(t0); // 0.5: one of two cores busy elsewhere; NaN off Linux
 * }</pre>
 */
record OtherLoad(long busy, long total, long own) {

    private static final OtherLoad UNKNOWN = new OtherLoad(-1, -1, -1);

    static OtherLoad now() {
        try {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat"), StandardCharsets.US_ASCII)
                    .get(0)
                    .trim()
                    .split("\\s+");
            long total = 0;
            for (int i = 1; i <= 8 && i < cpu.length; i++) {
                total += Long.parseLong(cpu[i]);
            }
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);
            String self = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
            // after "pid (comm) ": state is field 3, so utime, stime, cutime, cstime (14-17) are at 11-14
            String[] f = self.substring(self.lastIndexOf(')') + 2).trim().split(" ");
            long own = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return new OtherLoad(total - idle, total, own);
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /** The share of all CPU time, 0 to 1, that other processes used since {@code start}; NaN if unknown. */
    double since(OtherLoad start) {
        if (total < 0 || start.total < 0 || total <= start.total) {
            return Double.NaN;
        }
        long others = (busy - start.busy) - (own - start.own);
        return Math.max(0, Math.min(1, others / (double) (total - start.total)));
    }
}
