package org.medsearch.server;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@code multipart/form-data} request body for {@link java.net.http.HttpClient}, which has no
 * builder of its own: text fields and one file, in order. Used by the load test and by clients in
 * tests.
 *
 * <pre>{@code
 * MultipartBody body = new MultipartBody().field("k", "10").file("image", "query.png", bytes);
 * HttpRequest req = HttpRequest.newBuilder(uri).header("Content-Type", body.contentType())
 *         .POST(body.publisher()).build();
 * }</pre>
 */
public final class MultipartBody {

    private static final String BOUNDARY = "medsearch-7c1f3e9a0b5d4e2f";
    private final Map<String, String> fields = new LinkedHashMap<>();
    private String fileField;
    private String fileName;
    private byte[] fileBytes;

    public MultipartBody field(String name, String value) {
        fields.put(name, value);
        return this;
    }

    /** The file part; {@code filename} is sent as clients send it, and ignored by the server. */
    public MultipartBody file(String name, String filename, byte[] bytes) {
        this.fileField = name;
        this.fileName = filename;
        this.fileBytes = bytes;
        return this;
    }

    public String contentType() {
        return "multipart/form-data; boundary=" + BOUNDARY;
    }

    public byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            write(
                    out,
                    "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
                            + f.getValue() + "\r\n");
        }
        if (fileBytes != null) {
            write(
                    out,
                    "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + fileField + "\"; filename=\""
                            + fileName + "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            out.writeBytes(fileBytes);
            write(out, "\r\n");
        }
        write(out, "--" + BOUNDARY + "--\r\n");
        return out.toByteArray();
    }

    public HttpRequest.BodyPublisher publisher() {
        return HttpRequest.BodyPublishers.ofByteArray(bytes());
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
