package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

/** The server's half of the error model: the user error type is a 400 with its message (no paths), a bug a bare 500. */
class ErrorMapperTest {

    @Test
    void theUserErrorTypeIs400WithItsMessageAndABugIs500WithNoDetail() throws Exception {
        Javalin app = Javalin.create(cfg -> {
                    cfg.startup.showJavalinBanner = false;
                    ErrorMapper.register(cfg.routes);
                    cfg.routes.get("/user", ctx -> {
                        throw new MedsearchException("the index /srv/secret/index was built with another model");
                    });
                    cfg.routes.get("/bug", ctx -> {
                        throw new IllegalStateException("internal detail /srv/secret");
                    });
                })
                .start("127.0.0.1", 0);
        try {
            Http http = new Http(app.port());
            HttpResponse<byte[]> user = http.get("/user");
            JsonNode u = Http.assertError(user, 400, "bad_request");
            assertEquals(
                    "the index <path> was built with another model",
                    u.path("message").asText());
            HttpResponse<byte[]> bug = http.get("/bug");
            Http.assertError(bug, 500, "internal_error");
            assertFalse(Http.text(bug).contains("secret"), Http.text(bug));
            assertTrue(ErrorMapper.withoutPaths("see /a/b.png, then C:/x").startsWith("see <path>,"));
        } finally {
            app.stop();
        }
    }
}
