package org.medsearch.util;

import java.io.PrintStream;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on a terminal (the {@code progressbar} library): count, rate, ETA and a status
 * text. When the stream is not a terminal, it prints a plain line every few seconds instead, so
 * logs of scripted runs stay readable.
 */
public final class ConsoleProgress implements Progress {

    private final PrintStream out;
    private final boolean interactive;

    public ConsoleProgress(PrintStream out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    /** Bars on stderr when a console is attached, periodic lines otherwise. */
    public static ConsoleProgress stderr() {
        return new ConsoleProgress(System.err, System.console() != null);
    }

    @Override
    public Task start(String name, long total, String unit) {
        if (interactive) {
            ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName(name)
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUnit(" " + unit, 1)
                    .showSpeed()
                    .setUpdateIntervalMillis(250)
                    .setConsumer(new ConsoleProgressBarConsumer(out))
                    .build();
            return new Task() {
                @Override
                public void step(long n) {
                    bar.stepBy(n);
                }

                @Override
                public void extra(String text) {
                    bar.setExtraMessage(" " + text);
                }

                @Override
                public void close() {
                    bar.close();
                }
            };
        }
        return new LineTask(name, total, unit);
    }

    private final class LineTask implements Task {
        private final String name;
        private final long total;
        private final String unit;
        private final long start = System.nanoTime();
        private long done;
        private long lastPrint = System.nanoTime();
        private String extra = "";

        LineTask(String name, long total, String unit) {
            this.name = name;
            this.total = total;
            this.unit = unit;
        }

        @Override
        public synchronized void step(long n) {
            done += n;
            long now = System.nanoTime();
            if (now - lastPrint > 5_000_000_000L) {
                lastPrint = now;
                print(false);
            }
        }

        @Override
        public synchronized void extra(String text) {
            extra = text;
        }

        @Override
        public synchronized void close() {
            print(true);
        }

        private void print(boolean last) {
            double s = (System.nanoTime() - start) / 1e9;
            double rate = done / Math.max(s, 1e-9);
            String eta = "";
            if (!last && total > 0 && rate > 0) {
                eta = " ETA " + format(Duration.ofSeconds((long) ((total - done) / rate)));
            }
            out.printf(
                    "%s: %d%s %s (%.1f %s/s)%s %s%n",
                    name, done, total > 0 ? "/" + total : "", unit, rate, unit, eta, extra);
        }
    }

    static String format(Duration d) {
        long s = d.getSeconds();
        return s >= 3600
                ? String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }
}
