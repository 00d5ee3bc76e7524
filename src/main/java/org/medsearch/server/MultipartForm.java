package org.medsearch.server;

import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * A {@code multipart/form-data} request body, parsed only when first needed, so that a request can
 * be refused (overload, missing token) before its upload is read.
 *
 * <p>Contract: {@link #checkDeclaredSize} refuses a body whose declared length is over the limit
 * with 413 before anything is read; {@link #file} reads one file part, refusing 413 past the limit
 * (also for bodies sent without a length), 400 when it is missing and 415 when the body is not
 * multipart. The part's file name and content type are ignored: only the bytes count.
 *
 * <pre>{@code
 * MultipartForm form = new MultipartForm(ctx, config.maxUploadBytes());
 * form.checkDeclaredSize();
 * byte[] image = form.file("image");
 * String label = form.field("label");
 * }</pre>
 */
final class MultipartForm {

    private final Context ctx;
    private final long maxBytes;

    MultipartForm(Context ctx, long maxBytes) {
        this.ctx = ctx;
        this.maxBytes = maxBytes;
    }

    /** 413 when the declared body length exceeds the limit; 415 when the body is not multipart. */
    void checkDeclaredSize() {
        long declared = ctx.req().getContentLengthLong();
        if (declared > maxBytes) {
            throw tooLarge();
        }
        if (!ctx.isMultipartFormData()) {
            throw new ApiException(
                    415, "unsupported_media_type", "send the image as multipart/form-data, in a part named 'image'");
        }
    }

    /**
     * Waits for the whole body and parses it (file parts over 1 MiB go to disk, not to memory).
     * 408 when it arrives too slowly ({@link UploadPace}) or stalls; 431 when a part's headers are
     * too long; 413 and 400 as for {@link #file}.
     */
    void receive() {
        parse(ctx::uploadedFileMap);
    }

    /** The bytes of the file part {@code name}. */
    byte[] file(String name) throws IOException {
        UploadedFile f = parse(() -> ctx.uploadedFile(name));
        if (f == null) {
            throw ApiException.badRequest("the form has no file part named '" + name + "'");
        }
        try (InputStream in = f.content()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16, maxBytes + 1));
            if (b.length > maxBytes) {
                throw tooLarge();
            }
            return b;
        }
    }

    /** Whether the form has a file part {@code name}. */
    boolean hasFile(String name) {
        return ctx.isMultipartFormData() && parse(() -> ctx.uploadedFile(name)) != null;
    }

    /** A text field from the form, or else from the query string, or null. */
    String field(String name) {
        String q = ctx.queryParam(name);
        if (q != null) {
            return q;
        }
        return ctx.isMultipartFormData() ? parse(() -> ctx.formParam(name)) : null;
    }

    /** An integer field in [min, max], or {@code dflt} when absent. */
    int intField(String name, int dflt, int min, int max) {
        String v = field(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw ApiException.badRequest(name + " must be a whole number between " + min + " and " + max);
    }

    private static ApiException tooSlow(String why) {
        return new ApiException(408, "timeout", why + "; send the upload faster or retry");
    }

    private ApiException tooLarge() {
        return new ApiException(413, "too_large", "the upload is larger than the limit of " + maxBytes + " bytes");
    }

    /**
     * Jetty reports an over-long or malformed body as an exception from the parser, sometimes a
     * checked one thrown through Kotlin code, with the reason somewhere in its causes.
     */
    private <T> T parse(Supplier<T> read) {
        try {
            return read.get();
        } catch (ApiException e) {
            throw e;
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof UploadPace.UploadTooSlowException slow) {
                    throw tooSlow(slow.getMessage());
                }
                if (t instanceof java.util.concurrent.TimeoutException) {
                    throw tooSlow("the upload stalled");
                }
            }
            for (Throwable t = e; t != null; t = t.getCause()) {
                String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
                if (m.contains("header")
                        && (m.contains("max length") || m.contains("too large") || m.contains("exceed"))) {
                    throw new ApiException(
                            431,
                            "headers_too_large",
                            "a part's headers are too long (a file name " + "of more than a few kilobytes?)");
                }
                if (m.contains("max length exceeded") || m.contains("exceeds") || m.contains("too large")) {
                    throw tooLarge();
                }
            }
            throw ApiException.badRequest("the multipart body is malformed");
        }
    }
}
