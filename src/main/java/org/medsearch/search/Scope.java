package org.medsearch.search;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Which indexed images a query is compared with, chosen from the classifier's probabilities for the
 * query. A value: two scopes with the same text are equal, and {@link #toString()} gives the text
 * {@link #parse} reads.
 *
 * <ul>
 *   <li>{@code predicted}: the images of the predicted class (the paper's rule);
 *   <li>{@code all}: every indexed image;
 *   <li>{@code top:N}: the images of the N most probable classes (N at least the number of classes
 *       means all of them);
 *   <li>{@code auto}: the predicted class when its probability is at least the model's calibrated
 *       threshold ({@code ModelManifest.autoThreshold()}), else every class. It hedges the paper's
 *       rule: a query the classifier is unsure of is not confined to a class that may be wrong.
 * </ul>
 *
 * <p>Every scope but {@code all} needs a classifier; which one a request without a scope gets is the
 * model's to say ({@code SearchService.defaultScope()}).
 *
 * <pre>{@code
 * Scope s = Scope.parse("top:2");          // Scope.top(2)
 * List<String> c = s.classes(new float[] {0.5f, 0.1f, 0.4f}, List.of("a", "b", "c"), Double.NaN); // [a, c]
 * }</pre>
 *
 * @param kind which rule
 * @param n the number of classes for {@link Kind#TOP}, 0 for the others
 */
public record Scope(Kind kind, int n) {

    /** The rules. */
    public enum Kind {
        PREDICTED,
        ALL,
        AUTO,
        TOP
    }

    /** The predicted class only: the paper's rule. */
    public static final Scope PREDICTED = new Scope(Kind.PREDICTED, 0);
    /** Every indexed image. */
    public static final Scope ALL = new Scope(Kind.ALL, 0);
    /** The predicted class when the classifier is confident enough, else every class. */
    public static final Scope AUTO = new Scope(Kind.AUTO, 0);

    /** The forms {@link #parse} accepts, for messages and help texts. */
    public static final String FORMS = "predicted, all, auto or top:N (N >= 1)";

    private static final String TOP_PREFIX = "top:";

    public Scope {
        if (kind == null) {
            throw new IllegalArgumentException("a scope needs a kind");
        }
        if (kind == Kind.TOP ? n < 1 : n != 0) {
            throw new IllegalArgumentException(
                    kind == Kind.TOP ? "top:N needs N >= 1, got " + n : "only top:N takes a number");
        }
    }

    /** The images of the {@code n} most probable classes. */
    public static Scope top(int n) {
        return new Scope(Kind.TOP, n);
    }

    /**
     * Reads "predicted", "all", "auto" or "top:N" (case and surrounding blanks ignored).
     *
     * @throws IllegalArgumentException for anything else, with a message that lists the forms
     */
    public static Scope parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        switch (t) {
            case "predicted":
                return PREDICTED;
            case "all":
                return ALL;
            case "auto":
                return AUTO;
            default:
                break;
        }
        if (t.startsWith(TOP_PREFIX)) {
            String digits = t.substring(TOP_PREFIX.length());
            // digits only: no sign, no blank, no overflow beyond int
            if (!digits.isEmpty() && digits.length() <= 9 && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
                int n = Integer.parseInt(digits);
                if (n >= 1) {
                    return top(n);
                }
            }
            throw new IllegalArgumentException("bad scope '" + text.strip() + "': top:N needs a whole number N >= 1");
        }
        throw new IllegalArgumentException("unknown scope '" + (text == null ? "" : text.strip()) + "': use " + FORMS);
    }

    /** Whether this scope needs class probabilities (every scope but {@code all}). */
    public boolean needsClassifier() {
        return kind != Kind.ALL;
    }

    /**
     * The classes this scope searches for a query with these probabilities, most probable first, or
     * null for "every indexed image" (no class restriction).
     *
     * @param probabilities the classifier's, aligned with {@code classes} (empty without a classifier)
     * @param classes the model's classes
     * @param autoThreshold the {@code auto} scope's threshold (ignored by the others)
     * @throws IllegalArgumentException when this scope needs a classifier and there are no probabilities
     */
    public List<String> classes(float[] probabilities, List<String> classes, double autoThreshold) {
        if (kind == Kind.ALL) {
            return null;
        }
        if (probabilities.length == 0) {
            throw new IllegalArgumentException("the scope '" + this + "' needs class probabilities");
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            order.add(i);
        }
        // most probable first; ties by head order, as Embedding.predictedClass breaks them
        order.sort(Comparator.<Integer>comparingDouble(i -> -probabilities[i]).thenComparingInt(i -> i));
        int take = switch (kind) {
            case PREDICTED -> 1;
            case AUTO -> probabilities[order.get(0)] >= autoThreshold ? 1 : probabilities.length;
            case TOP -> Math.min(n, probabilities.length);
            case ALL -> probabilities.length;
        };
        if (take >= probabilities.length && kind != Kind.PREDICTED) {
            return null;
        }
        List<String> out = new ArrayList<>(take);
        for (int i = 0; i < take; i++) {
            out.add(classes.get(order.get(i)));
        }
        return List.copyOf(out);
    }

    /** "predicted", "all", "auto" or "top:N": what {@link #parse} reads. */
    @Override
    public String toString() {
        return kind == Kind.TOP ? TOP_PREFIX + n : kind.name().toLowerCase(Locale.ROOT);
    }
}
