package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The architecture rule of {@link TorchOps}: DJL's PyTorch internals ({@code ai.djl.pytorch.*},
 * {@code JniUtils}, {@code PtNDArray} and the other {@code Pt*} classes) are named in
 * {@code TorchOps.java} and nowhere else in src/main/java, so that a second runtime can replace
 * inference without hunting for them. Comments and string literals do not count: {@link Engines}
 * sets {@code "ai.djl.pytorch.*"} system properties, which is engine configuration through DJL's
 * public API.
 */
class TorchInternalsTest {

    static final Path SOURCES = Path.of("src/main/java");
    static final String ALLOWED = "org/medsearch/model/TorchOps.java";
    static final Pattern INTERNALS =
            Pattern.compile("ai\\s*\\.\\s*djl\\s*\\.\\s*pytorch\\b|\\bJniUtils\\b|\\bPt[A-Z]\\w*");

    @Test
    void pytorchInternalsAppearOnlyInTorchOps() throws IOException {
        List<String> offenders = new ArrayList<>();
        int allowedUses = 0;
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path f : (Iterable<Path>)
                    files.filter(p -> p.toString().endsWith(".java")).sorted()::iterator) {
                String rel = SOURCES.relativize(f).toString().replace('\\', '/');
                Matcher m = INTERNALS.matcher(code(Files.readString(f)));
                while (m.find()) {
                    if (rel.equals(ALLOWED)) {
                        allowedUses++;
                    } else {
                        offenders.add(rel + ": " + m.group());
                    }
                }
            }
        }
        assertEquals(List.of(), offenders, "DJL's PyTorch internals outside " + ALLOWED);
        assertTrue(allowedUses > 0, "the scan found nothing in " + ALLOWED + ": is " + SOURCES + " the right folder?");
    }

    @Test
    void theScanIgnoresCommentsAndStringsOnly() {
        assertEquals("a   b", code("a /* JniUtils */ b"));
        assertEquals("x = \"\";\n", code("x = \"ai.djl.pytorch.num_threads\";// PtNDArray\n"));
        assertEquals("c = ''; PtNDArray p;", code("c = '\"'; PtNDArray p;"));
        assertEquals("t = \"\"\"\"\"\";", code("t = \"\"\"\n  ai.djl.pytorch \\\"\"\" x\n\"\"\";"));
        assertTrue(
                INTERNALS.matcher(code("import ai.djl.pytorch.jni.JniUtils;")).find());
    }

    /**
     * The source with comments removed and string, text-block and char literals emptied, so that only
     * code is matched. Line breaks after line comments are kept.
     */
    static String code(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (src.startsWith("//", i)) {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
            } else if (src.startsWith("/*", i)) {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (src.startsWith("\"\"\"", i)) {
                i = skipLiteral(src, i + 3, "\"\"\"");
                out.append("\"\"\"\"\"\"");
            } else if (c == '"' || c == '\'') {
                i = skipLiteral(src, i + 1, String.valueOf(c));
                out.append(c).append(c);
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** The index after the literal that starts at {@code from} and ends with {@code close}, escapes skipped. */
    private static int skipLiteral(String src, int from, String close) {
        int i = from;
        while (i < src.length() && !src.startsWith(close, i)) {
            i += src.charAt(i) == '\\' ? 2 : 1;
        }
        return Math.min(src.length(), i + close.length());
    }
}
