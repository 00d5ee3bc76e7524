package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.cli.Main;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.util.Json;

/**
 * One schema for every search answer: {@code POST /api/search} and {@code medsearch search --json}
 * both validate against {@code Search} in the API's own {@code openapi.json}; and the request's
 * class filter is honoured under the predicted-class scope (issue 11's first defect).
 */
class SearchAnswerSchemaTest {

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static Schema search;

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        running = Fixture.start(built, ServerConfig.defaults(), scratch);
        search = schema("Search");
    }

    /** The OpenAPI file's schema {@code component}, with the components its $refs resolve in. */
    static Schema schema(String component) throws java.io.IOException {
        JsonNode openapi;
        try (InputStream in = ApiRoutes.class.getResourceAsStream("openapi.json")) {
            openapi = ApiResponses.MAPPER.readTree(in);
        }
        // the components travel with the root schema, so that its $refs resolve inside the document
        ObjectNode root = ApiResponses.MAPPER.createObjectNode();
        root.put("$ref", "#/components/schemas/" + component);
        root.set("components", openapi.path("components"));
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_4)
                .getSchema(ApiResponses.MAPPER.writeValueAsString(root), InputFormat.JSON);
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    static void assertValid(String json) {
        List<Error> errors = search.validate(json, InputFormat.JSON);
        assertTrue(errors.isEmpty(), errors + " in " + json);
    }

    record Cli(int code, String out, String err) {}

    static Cli cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Cli(code, out.toString(), err.toString());
    }

    static Cli searchJson(String... more) {
        List<String> args = new java.util.ArrayList<>(List.of(
                "search",
                "--model",
                built.model().toString(),
                "--index",
                built.index().toString(),
                // the fixture's server runs the model on PyTorch: the same engine, the same distances
                "--runtime",
                "torch",
                "--json"));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    Path query(String cls, int n) {
        return built.data().resolve(cls).resolve(String.format("img_%03d.png", n));
    }

    @Test
    void theValidatorRejectsAnAnswerWithoutResults() throws Exception {
        String ok = Http.text(running.http.search(Files.readAllBytes(query("disc", 3))));
        assertValid(ok);
        ObjectNode broken = (ObjectNode) ApiResponses.MAPPER.readTree(ok);
        broken.remove("results");
        assertFalse(search.validate(broken.toString(), InputFormat.JSON).isEmpty(), "the schema must be able to fail");
    }

    @Test
    void apiAndCommandLineAnswersShareTheSchema() throws Exception {
        HttpResponse<byte[]> api = running.http.search(Files.readAllBytes(query("disc", 3)), "k", "5");
        assertEquals(200, api.statusCode());
        assertValid(Http.text(api));

        Cli r = searchJson(
                "--k", "5", query("disc", 3).toString(), query("stripes", 4).toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), "one line per query: " + r.out());
        for (String line : lines) {
            assertValid(line);
        }
        JsonNode first = ApiResponses.MAPPER.readTree(lines.get(0));
        assertEquals("img_003.png", first.path("query").asText());
        assertEquals(5, first.path("results").size());
        // the same answer as the API's, but for the timings and the query's name
        JsonNode viaApi = ApiResponses.MAPPER.readTree(api.body());
        assertEquals(viaApi.path("results"), first.path("results"));
        assertEquals(viaApi.path("predicted"), first.path("predicted"));
    }

    @Test
    void aClassFilterIsIntersectedWithThePredictedClass() throws Exception {
        Cli base = searchJson(query("disc", 3).toString());
        assertEquals(0, base.code(), base.err());
        String predicted = ApiResponses.MAPPER
                .readTree(base.out())
                .path("predicted")
                .path("name")
                .asText();
        String other = built.bundle().classes().stream()
                .filter(c -> !c.equals(predicted))
                .findFirst()
                .orElseThrow();

        // the filter's own class: honoured, every result of it
        Cli same = searchJson("--filter", "class=" + predicted, query("disc", 3).toString());
        JsonNode s = ApiResponses.MAPPER.readTree(same.out());
        assertEquals(10, s.path("results").size(), same.out());
        s.path("results").forEach(h -> assertEquals(predicted, h.path("label").asText()));
        assertNull(s.get("notice"));

        // another class: not silently replaced by the predicted one, but an empty answer that says why
        Cli disjoint = searchJson("--filter", "class=" + other, query("disc", 3).toString());
        assertEquals(0, disjoint.code(), disjoint.err());
        JsonNode d = ApiResponses.MAPPER.readTree(disjoint.out());
        assertValid(disjoint.out().strip());
        assertEquals(0, d.path("results").size(), disjoint.out());
        assertTrue(d.path("notice").asText().contains(other), disjoint.out());

        // the same filter with the scope 'all' finds that class
        Cli all = searchJson(
                "--scope", "all", "--filter", "class=" + other, query("disc", 3).toString());
        JsonNode a = ApiResponses.MAPPER.readTree(all.out());
        assertEquals(10, a.path("results").size());
        a.path("results").forEach(h -> assertEquals(other, h.path("label").asText()));

        // and the text output says it too
        Cli text = cli(
                "search",
                "--model",
                built.model().toString(),
                "--index",
                built.index().toString(),
                "--filter",
                "class=" + other,
                query("disc", 3).toString());
        assertTrue(text.out().contains("note: "), text.out());
    }

    @Test
    void theScopeFieldTakesTopNAndRefusesMalformedScopes() throws Exception {
        byte[] q = Files.readAllBytes(query("disc", 3));
        HttpResponse<byte[]> top = running.http.search(q, "k", "20", "scope", "top:2");
        assertEquals(200, top.statusCode(), Http.text(top));
        assertValid(Http.text(top));
        JsonNode t = Http.json(top);
        assertEquals("top:2", t.path("scope").asText());
        assertEquals(2, t.path("searched").size(), t.toString());
        t.path("results")
                .forEach(h -> assertTrue(
                        h.path("label")
                                        .asText()
                                        .equals(t.path("searched").get(0).asText())
                                || h.path("label")
                                        .asText()
                                        .equals(t.path("searched").get(1).asText()),
                        h.toString()));
        assertEquals(t.path("predicted").path("name"), t.path("searched").get(0), "most probable first");
        assertNull(t.get("threshold"), "only auto reports a threshold");

        for (String bad : List.of("top:0", "foo", "top:-2", "top:x")) {
            JsonNode e = Http.assertError(running.http.search(q, "scope", bad), 400, "bad_request");
            assertTrue(e.path("message").asText().contains("top:N"), e.toString());
        }
        if (built.bundle().manifest().autoThreshold().isEmpty()) {
            // a model trained without a threshold: auto is the client's error, said before decoding
            JsonNode auto = Http.assertError(running.http.search(q, "scope", "auto"), 400, "bad_request");
            assertTrue(auto.path("message").asText().contains("retrain"), auto.toString());
            // and its default stays the paper's rule
            assertEquals(
                    "predicted", Http.json(running.http.search(q)).path("scope").asText());
        } else {
            assertEquals("auto", Http.json(running.http.search(q)).path("scope").asText());
        }
    }

    @Test
    void everyAnswerCarriesTheNeighbourVote() throws Exception {
        JsonNode a = Http.json(running.http.search(Files.readAllBytes(query("stripes", 5)), "scope", "all"));
        JsonNode vote = a.path("vote");
        double sum = 0;
        for (JsonNode share : vote.path("distribution")) {
            sum += share.asDouble();
        }
        assertEquals(1.0, sum, 1e-9);
        assertEquals(
                vote.path("distribution").fieldNames().next(), vote.path("top").asText(), "largest share first");
        assertEquals(
                vote.path("top")
                        .asText()
                        .equals(a.path("predicted").path("name").asText()),
                vote.path("agrees").asBoolean());
        assertEquals(3, a.path("searched").size(), "all: every class");

        Cli text = cli(
                "search",
                "--model",
                built.model().toString(),
                "--index",
                built.index().toString(),
                "--scope",
                "top:2",
                query("stripes", 5).toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("scope: top:2, searched ["), text.out());
        assertTrue(text.out().contains("similar cases: "), text.out());
        Cli bad = cli(
                "search",
                "--model",
                built.model().toString(),
                "--index",
                built.index().toString(),
                "--scope",
                "top:0",
                query("stripes", 5).toString());
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("top:N"), bad.err());
    }

    @Test
    void aModelWithAThresholdSearchesAutoByDefault(@TempDir Path dir) throws Exception {
        // the same weights with a calibrated threshold of 0: every query is confident enough
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        try (var files = Files.list(built.model())) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName().toString()));
            }
        }
        ModelManifest m = ModelBundle.readManifest(model);
        Json.write(
                model.resolve("manifest.json"),
                m.withRetrieval(new ModelManifest.RetrievalCalibration(10, 30, 0.0, 0.9, 0.8, 0.9)));
        try (ModelBundle bundle = ModelBundle.load(model);
                Fixture.Running r = Fixture.start(
                        new Fixture.Built(built.root(), built.data(), model, built.index(), bundle),
                        ServerConfig.defaults(),
                        dir)) {
            byte[] q = Files.readAllBytes(query("columns", 7));
            for (HttpResponse<byte[]> res : List.of(r.http.search(q), r.http.search(q, "scope", "auto"))) {
                assertEquals(200, res.statusCode(), Http.text(res));
                assertValid(Http.text(res));
                JsonNode j = Http.json(res);
                assertEquals("auto", j.path("scope").asText());
                assertEquals(0.0, j.path("threshold").asDouble(-1));
                assertEquals(1, j.path("searched").size());
                assertEquals(
                        j.path("predicted").path("name"), j.path("searched").get(0));
            }
            assertEquals(
                    "predicted",
                    Http.json(r.http.search(q, "scope", "predicted"))
                            .path("scope")
                            .asText());
        }
        Cli json = cli(
                "search",
                "--model",
                model.toString(),
                "--index",
                built.index().toString(),
                "--json",
                query("columns", 7).toString());
        assertEquals(0, json.code(), json.err());
        assertValid(json.out().strip());
        assertEquals(
                "auto", ApiResponses.MAPPER.readTree(json.out()).path("scope").asText());
    }
}
