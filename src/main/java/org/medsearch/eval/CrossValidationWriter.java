package org.medsearch.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Json;

/**
 * Writes a {@link CrossValidationReport} as {@code cv.json} and a self-contained {@code cv.html}:
 * one table with every figure per fold and as mean +/- standard deviation, a chart of the retrieval
 * figures per scope with their spread, and the run's provenance.
 *
 * <pre>{@code
 * Path html = CrossValidationWriter.write(report, Path.of("cv"));
 * }</pre>
 */
public final class CrossValidationWriter {
    private CrossValidationWriter() {}

    /** Writes both files into {@code dir} and returns the HTML file. */
    public static Path write(CrossValidationReport r, Path dir) throws IOException {
        Files.createDirectories(dir);
        Json.write(dir.resolve("cv.json"), r);
        Path html = dir.resolve("cv.html");
        FileUtil.writeAtomically(
                html,
                html(r, BitmapEncoder.getBitmapBytes(chart(r), BitmapEncoder.BitmapFormat.PNG))
                        .getBytes(StandardCharsets.UTF_8));
        return html;
    }

    /** The all-test mAP of each scope and the accuracies, mean with one standard deviation as error bar. */
    static CategoryChart chart(CrossValidationReport r) {
        List<String> names = new ArrayList<>();
        List<Double> means = new ArrayList<>();
        List<Double> sds = new ArrayList<>();
        r.summary().forEach((k, s) -> {
            if (k.contains("all-test/") || k.contains("accuracy")) {
                names.add(k.replace("all-test/", ""));
                means.add(s.mean());
                sds.add(s.sd());
            }
        });
        CategoryChart c = new CategoryChartBuilder()
                .width(900)
                .height(420)
                .title(r.folds() + "-fold cross-validation: mean +/- sd")
                .yAxisTitle("")
                .build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(1.0);
        c.getStyler().setXAxisLabelRotation(30);
        if (!names.isEmpty()) {
            c.addSeries("mean", names, means, sds);
        }
        return c;
    }

    static String html(CrossValidationReport r, byte[] chart) {
        StringBuilder h = new StringBuilder();
        h.append(
                        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>medsearch cross-validation</title>")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>")
                .append("body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccd;padding:.3em .7em;")
                .append("text-align:right}th{background:#eef2f8}td.l,th.l{text-align:left}img{max-width:100%}")
                .append(".note{color:#555}</style></head><body>");
        h.append("<h1>medsearch cross-validation</h1><p class=\"note\">")
                .append(esc(r.createdAt()))
                .append(" &middot; ")
                .append(r.folds())
                .append(" folds &middot; seed ")
                .append(r.seed())
                .append(" &middot; ")
                .append(String.format("%.0f s", r.seconds()))
                .append("</p>");
        h.append("<table><tr><th class=\"l\">figure</th><th>mean +/- sd</th>");
        for (CrossValidationReport.Fold f : r.perFold()) {
            h.append("<th>fold ").append(f.fold()).append("</th>");
        }
        h.append("</tr>");
        for (Map.Entry<String, CrossValidationReport.Stat> e : r.summary().entrySet()) {
            h.append("<tr><th class=\"l\">")
                    .append(esc(e.getKey()))
                    .append("</th><td>")
                    .append(esc(e.getValue().format()))
                    .append("</td>");
            for (CrossValidationReport.Fold f : r.perFold()) {
                Double v = f.metrics().get(e.getKey());
                h.append("<td>")
                        .append(v == null ? "" : String.format("%.4f", v))
                        .append("</td>");
            }
            h.append("</tr>");
        }
        h.append("</table>");
        h.append(
                        "<p><img alt=\"retrieval and accuracy per scope, mean and standard deviation\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(chart))
                .append("\"></p>");
        h.append("<h2>Folds</h2><table><tr><th>fold</th><th>train</th><th>val</th><th>test</th><th>best epoch</th>")
                .append("<th>epochs run</th><th>auto threshold</th><th>seconds</th><th class=\"l\">model</th></tr>");
        for (CrossValidationReport.Fold f : r.perFold()) {
            h.append("<tr><td>")
                    .append(f.fold())
                    .append("</td><td>")
                    .append(f.counts().get("train"))
                    .append("</td><td>")
                    .append(f.counts().get("val"))
                    .append("</td><td>")
                    .append(f.counts().get("test"))
                    .append("</td><td>")
                    .append(f.bestEpoch())
                    .append("</td><td>")
                    .append(f.epochsRun())
                    .append("</td><td>")
                    .append(threshold(f.autoThreshold()))
                    .append("</td><td>")
                    .append(String.format("%.0f", f.seconds()))
                    .append("</td><td class=\"l\">")
                    .append(esc(f.model()))
                    .append("</td></tr>");
        }
        h.append("</table><h2>Provenance</h2><pre>").append(esc(provenance(r))).append("</pre></body></html>\n");
        return h.toString();
    }

    /** A threshold above every probability means "always all classes". */
    private static String threshold(Double t) {
        return t == null ? "" : t > 1 ? "never (all)" : String.format("%.3f", t);
    }

    private static String provenance(CrossValidationReport r) {
        try {
            return Json.MAPPER.writeValueAsString(Map.of(
                    "data", r.data(),
                    "recipe", r.recipe(),
                    "init", String.valueOf(r.init()),
                    "valShare", r.valShare(),
                    "versions", r.versions()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("the report's provenance is plain data", e);
        }
    }

    private static String esc(String s) {
        return ReportWriter.esc(s);
    }
}
