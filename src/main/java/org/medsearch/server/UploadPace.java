package org.medsearch.server;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Cuts off request bodies that arrive too slowly: below an average rate (judged once the body has
 * been arriving for {@link ServerConfig#UPLOAD_RATE_GRACE}) or past a deadline for the whole body.
 * Every read of a body goes through it, so the reader (the multipart parser) fails with an
 * {@link UploadTooSlowException}, which the routes answer with 408. A client that sends nothing at
 * all is cut off by the connector's idle timeout instead, which the server sets below the deadline.
 *
 * <p>Why here and not in the routes: the multipart parser reads the body inside the framework,
 * one blocking read at a time; wrapping the request below it is the one place that sees each read.
 *
 * <pre>{@code
 * server.setHandler(new GracefulHandler(new UploadPace(16 << 10, Duration.ofSeconds(60))));
 * }</pre>
 */
final class UploadPace extends Handler.Wrapper {

    /** Why a body was cut off; the routes turn it into a 408. */
    static final class UploadTooSlowException extends TimeoutException {
        private static final long serialVersionUID = 1L;

        UploadTooSlowException(String message) {
            super(message);
        }
    }

    private final long minBytesPerSecond;
    private final long deadlineNanos;
    private final long graceNanos;

    UploadPace(long minBytesPerSecond, Duration deadline) {
        this.minBytesPerSecond = minBytesPerSecond;
        this.deadlineNanos = deadline.toNanos();
        this.graceNanos = ServerConfig.UPLOAD_RATE_GRACE.toNanos();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        boolean body = request.getLength() > 0 || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        return super.handle(body ? new Paced(request) : request, response, callback);
    }

    private final class Paced extends Request.Wrapper {
        private final long start = System.nanoTime();
        private long received;
        private Content.Chunk cutOff;

        Paced(Request wrapped) {
            super(wrapped);
        }

        @Override
        public Content.Chunk read() {
            synchronized (this) {
                if (cutOff != null) {
                    return cutOff;
                }
            }
            Content.Chunk c = super.read();
            synchronized (this) {
                if (c != null) {
                    received += c.remaining();
                    if (c.isLast()) {
                        return c; // complete: nothing left to judge
                    }
                }
                String why = judge(System.nanoTime() - start);
                if (why == null) {
                    return c;
                }
                if (c != null) {
                    c.release();
                }
                cutOff = Content.Chunk.from(new UploadTooSlowException(why), true);
                return cutOff;
            }
        }

        private String judge(long elapsed) {
            if (elapsed > deadlineNanos) {
                return "the upload did not arrive within "
                        + Duration.ofNanos(deadlineNanos).toSeconds() + " s";
            }
            if (elapsed > graceNanos && received * 1_000_000_000.0 / elapsed < minBytesPerSecond) {
                return "the upload arrived at less than " + minBytesPerSecond + " bytes per second";
            }
            return null;
        }
    }
}
