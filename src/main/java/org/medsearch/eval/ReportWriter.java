package org.medsearch.eval;

import java.awt.Color;
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
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.medsearch.util.FileUtil;
import org.medsearch.util.Json;

/**
 * Writes an {@link EvaluationReport} as {@code evaluation.json} and as a self-contained
 * {@code evaluation.html} (plots embedded as PNG, no external resources): the summary beside the
 * paper's figures, the confusion matrix, per-class bars, the precision-at-k curves, and the
 * provenance of model, split and index. The plots are also written as PNG files.
 *
 * <pre>{@code
 * Path html = ReportWriter.write(report, Path.of("report"));
 * }</pre>
 */
public final class ReportWriter {
    private ReportWriter() {}

    /** Paper (Ayyachamy et al. 2019), Table 3 / abstract. */
    static final double PAPER_ACCURACY = 0.92;

    static final double PAPER_MAP = 0.90;

    /** Writes everything into {@code dir} and returns the HTML file. */
    public static Path write(EvaluationReport r, Path dir) throws IOException {
        Files.createDirectories(dir);
        Json.write(dir.resolve("evaluation.json"), r);
        // a model without a classifier has no confusion matrix and no per-class classification figures
        boolean classifier = !r.classification().classes().isEmpty();
        byte[] confusion = classifier ? png(confusionChart(r)) : null;
        byte[] perClass = classifier ? png(perClassChart(r)) : null;
        byte[] curve = png(curveChart(r));
        if (classifier) {
            FileUtil.writeAtomically(dir.resolve("confusion-matrix.png"), confusion);
            FileUtil.writeAtomically(dir.resolve("per-class.png"), perClass);
        }
        FileUtil.writeAtomically(dir.resolve("precision-at-k.png"), curve);
        Path html = dir.resolve("evaluation.html");
        FileUtil.writeAtomically(html, html(r, confusion, perClass, curve).getBytes(StandardCharsets.UTF_8));
        return html;
    }

    private static byte[] png(Chart<?, ?> chart) throws IOException {
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }

    static HeatMapChart confusionChart(EvaluationReport r) {
        List<String> classes = r.classification().classes();
        HeatMapChart c = new HeatMapChartBuilder()
                .width(640)
                .height(560)
                .title("Confusion matrix (test split)")
                .xAxisTitle("predicted")
                .yAxisTitle("true")
                .build();
        c.getStyler().setShowValue(true);
        c.getStyler().setPlotContentSize(1);
        c.getStyler().setLegendVisible(false);
        c.getStyler()
                .setRangeColors(
                        new Color[] {new Color(245, 248, 252), new Color(120, 170, 220), new Color(20, 60, 130)});
        List<Number[]> cells = new ArrayList<>();
        long[][] m = r.classification().confusion();
        for (int t = 0; t < m.length; t++) {
            for (int p = 0; p < m.length; p++) {
                cells.add(new Number[] {p, m.length - 1 - t, m[t][p]});
            }
        }
        List<String> reversed = new ArrayList<>(classes);
        java.util.Collections.reverse(reversed);
        c.addSeries("counts", classes, reversed, cells);
        return c;
    }

    static CategoryChart perClassChart(EvaluationReport r) {
        CategoryChart c = new CategoryChartBuilder()
                .width(900)
                .height(420)
                .title("Per class (test split)")
                .yAxisTitle("score")
                .build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS).setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setAvailableSpaceFill(0.8);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(1.0);
        List<String> names = r.classification().classes();
        List<Double> p = new ArrayList<>();
        List<Double> rec = new ArrayList<>();
        List<Double> f1 = new ArrayList<>();
        for (ClassificationMetrics.PerClass pc : r.classification().perClass()) {
            p.add(pc.precision());
            rec.add(pc.recall());
            f1.add(pc.f1());
        }
        c.addSeries("precision", names, p);
        c.addSeries("recall", names, rec);
        c.addSeries("F1", names, f1);
        EvaluationReport.Protocol all = r.retrieval().get("all-test/predicted");
        if (all != null) {
            List<Double> ap = names.stream()
                    .map(n -> all.averagePrecisionPerClass().getOrDefault(n, 0.0))
                    .toList();
            c.addSeries("mAP@" + all.k() + " (all test, predicted scope)", names, ap);
        }
        return c;
    }

    static XYChart curveChart(EvaluationReport r) {
        XYChart c = new XYChartBuilder()
                .width(900)
                .height(420)
                .title("Precision at k")
                .xAxisTitle("k")
                .yAxisTitle("P@k")
                .build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS).setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setMarkerSize(3);
        for (Map.Entry<String, EvaluationReport.Protocol> e : r.retrieval().entrySet()) {
            double[] y = e.getValue().precisionCurve();
            double[] x = new double[y.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = i + 1;
            }
            c.addSeries(e.getKey() + " (" + e.getValue().queries() + " queries)", x, y);
        }
        return c;
    }

    static String html(EvaluationReport r, byte[] confusion, byte[] perClass, byte[] curve) {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>medsearch evaluation</title>")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>")
                .append(
                        "body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1c1c1c}")
                .append(
                        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccd;padding:.3em .7em;text-align:right}")
                .append("th{background:#eef2f8}td.l,th.l{text-align:left}img{max-width:100%}h2{margin-top:2em}")
                .append(".note{color:#555}</style></head><body>");
        h.append("<h1>medsearch evaluation</h1>");
        h.append("<p class=\"note\">")
                .append(esc(r.createdAt()))
                .append(" &middot; model ")
                .append(esc(r.model().fingerprint()))
                .append(r.runtime() == null ? "" : " &middot; runtime " + esc(r.runtime()))
                .append(" &middot; ")
                .append(r.data().evaluated())
                .append(" test images &middot; ")
                .append(String.format("%.1f s", r.seconds()))
                .append("</p>");

        h.append("<h2>Beside the paper</h2><table><tr><th class=\"l\">figure</th><th>this run</th>")
                .append("<th>Ayyachamy et al. 2019</th></tr>");
        row(h, "classification accuracy (test split)", r.classification().accuracy(), PAPER_ACCURACY);
        row(
                h,
                "neighbour vote accuracy: top class of the distance-weighted vote of the "
                        + r.classification().voteK() + " nearest, all classes",
                r.classification().voteAccuracy(),
                Double.NaN);
        EvaluationReport.Protocol pp = r.retrieval().get("paper/predicted");
        if (pp != null) {
            row(
                    h,
                    "mAP@" + pp.k() + ", paper protocol (" + pp.queries() + " queries), predicted-class scope",
                    pp.meanAveragePrecision(),
                    PAPER_MAP);
        }
        h.append("</table>");

        EvaluationReport.RuntimeComparison c = r.comparison();
        if (c != null) {
            h.append("<h2>")
                    .append(esc(c.runtime()))
                    .append(" beside ")
                    .append(esc(c.reference()))
                    .append(
                            "</h2><p class=\"note\">The same test queries, embedded by both runtimes, searching the same")
                    .append(" index. Largest feature difference ")
                    .append(String.format(java.util.Locale.ROOT, "%.4g", c.maxFeatureDifference()))
                    .append(", relative error ")
                    .append(String.format(java.util.Locale.ROOT, "%.4f", c.relativeFeatureError()))
                    .append(", same predicted class for ")
                    .append(String.format(java.util.Locale.ROOT, "%.2f%%", 100 * c.samePrediction()))
                    .append(" of the queries.</p><table><tr><th class=\"l\">figure</th><th>")
                    .append(esc(c.runtime()))
                    .append("</th><th>")
                    .append(esc(c.reference()))
                    .append("</th></tr>");
            row(h, "classification accuracy", c.accuracy(), c.referenceAccuracy());
            for (java.util.Map.Entry<String, Double> e : c.map().entrySet()) {
                row(
                        h,
                        "all-test mAP@k, " + e.getKey(),
                        e.getValue(),
                        c.referenceMap().getOrDefault(e.getKey(), Double.NaN));
            }
            h.append("</table>");
        }

        h.append("<h2>Retrieval</h2><table><tr><th class=\"l\">protocol</th><th class=\"l\">scope</th><th>queries</th>")
                .append("<th>mAP@k</th><th>P@k</th><th>R@k</th></tr>");
        for (EvaluationReport.Protocol p : r.retrieval().values()) {
            h.append("<tr><td class=\"l\">")
                    .append(esc(p.protocol()))
                    .append("</td><td class=\"l\">")
                    .append(esc(p.scope()))
                    .append("</td><td>")
                    .append(p.queries())
                    .append("</td><td>")
                    .append(f4(p.meanAveragePrecision()))
                    .append("</td><td>")
                    .append(f4(p.meanPrecision()))
                    .append("</td><td>")
                    .append(f4(p.meanRecall()))
                    .append("</td></tr>");
        }
        h.append("</table><p class=\"note\">k = ")
                .append(pp == null ? 10 : pp.k())
                .append(". Relevant means same class. AP@k averages P@i over the relevant ranks i &le; k (the"
                        + " PyTorch reference's definition). ")
                .append(esc(r.index().note()))
                .append(".</p>");
        h.append(img(curve, "Precision at k for each protocol and scope"));

        if (confusion == null) {
            h.append("<h2>Classification</h2><p>The model has no classifier (a bare backbone): retrieval only.</p>");
        } else {
            classification(h, r, perClass, confusion);
        }

        h.append("<h2>Provenance</h2><table>");
        EvaluationReport.ModelFacts m = r.model();
        kv(h, "model", m.directory());
        kv(h, "fingerprint", m.fingerprint());
        kv(h, "classes", String.join(", ", m.classes()));
        kv(h, "image size", Integer.toString(m.imageSize()));
        kv(h, "initialisation", m.init());
        kv(h, "epochs (best)", m.epochs() + " (" + m.bestEpoch() + ")");
        kv(h, "training data SHA-256", m.dataSha256());
        kv(h, "split", m.splitRatios() + ", seed " + m.splitSeed() + ", SHA-256 " + m.splitSha256());
        kv(
                h,
                "evaluated data",
                r.data().source() + ": " + r.data().testImages() + " test images, "
                        + r.data().evaluated() + " evaluated, "
                        + r.data().skipped().size() + " skipped, "
                        + r.data().labelConflictsLeftOut()
                        + " left out (identical bytes labelled otherwise elsewhere; "
                        + r.data().labelConflicts() + " such conflicts in the data set)");
        kv(
                h,
                "index",
                r.index().directory() + ": " + r.index().images() + " images; per split "
                        + r.index().perSplit() + "; per class " + r.index().perClass());
        kv(h, "versions", String.valueOf(m.versions()));
        h.append("</table></body></html>\n");
        return h.toString();
    }

    private static void classification(StringBuilder h, EvaluationReport r, byte[] perClass, byte[] confusion) {
        h.append("<h2>Classification</h2><table><tr><th class=\"l\">class</th><th>support</th><th>precision</th>")
                .append("<th>recall</th><th>F1</th></tr>");
        for (ClassificationMetrics.PerClass pc : r.classification().perClass()) {
            h.append("<tr><td class=\"l\">")
                    .append(esc(pc.name()))
                    .append("</td><td>")
                    .append(pc.support())
                    .append("</td><td>")
                    .append(f4(pc.precision()))
                    .append("</td><td>")
                    .append(f4(pc.recall()))
                    .append("</td><td>")
                    .append(f4(pc.f1()))
                    .append("</td></tr>");
        }
        h.append("</table>");
        h.append(img(perClass, "Per-class precision, recall, F1 and mAP"));
        h.append(img(confusion, "Confusion matrix"));
        h.append(confusionTable(r));
    }

    private static String confusionTable(EvaluationReport r) {
        StringBuilder h = new StringBuilder("<table><tr><th class=\"l\">true \\ predicted</th>");
        List<String> classes = r.classification().classes();
        classes.forEach(c -> h.append("<th>").append(esc(c)).append("</th>"));
        h.append("</tr>");
        long[][] m = r.classification().confusion();
        for (int t = 0; t < m.length; t++) {
            h.append("<tr><th class=\"l\">").append(esc(classes.get(t))).append("</th>");
            for (int p = 0; p < m.length; p++) {
                h.append(t == p ? "<td><b>" : "<td>").append(m[t][p]).append(t == p ? "</b></td>" : "</td>");
            }
            h.append("</tr>");
        }
        return h.append("</table>").toString();
    }

    private static void row(StringBuilder h, String name, double ours, double paper) {
        h.append("<tr><td class=\"l\">")
                .append(esc(name))
                .append("</td><td>")
                .append(f4(ours))
                .append("</td><td>")
                .append(f4(paper))
                .append("</td></tr>");
    }

    private static void kv(StringBuilder h, String k, String v) {
        h.append("<tr><th class=\"l\">")
                .append(esc(k))
                .append("</th><td class=\"l\">")
                .append(esc(v))
                .append("</td></tr>");
    }

    private static String img(byte[] png, String alt) {
        return "<p><img alt=\"" + esc(alt) + "\" src=\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png) + "\"></p>";
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "n/a" : String.format("%.4f", v);
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
