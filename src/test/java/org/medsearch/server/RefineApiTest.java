package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Refining a search over the API: {@code POST /api/explain} (its answer valid against the OpenAPI
 * schema, its distance the search's), {@code region} on a search, and relevance feedback
 * ({@code relevant}/{@code irrelevant}: the query moves, the scope widens to the classes marked
 * relevant), with their mistakes answered 400 or 404. A real server over the synthetic fixture.
 */
class RefineApiTest {

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static Schema explanation;
    static byte[] query;

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        running = Fixture.start(built, ServerConfig.defaults(), scratch);
        explanation = SearchAnswerSchemaTest.schema("Explanation");
        query = Files.readAllBytes(built.data().resolve("disc/img_007.png"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    static JsonNode search(String... fields) throws Exception {
        return Http.json(running.http.search(query, fields));
    }

    static List<Long> ids(JsonNode answer) {
        List<Long> out = new ArrayList<>();
        answer.get("results").forEach(r -> out.add(r.get("id").asLong()));
        return out;
    }

    static double distance(JsonNode answer, long id) {
        for (JsonNode r : answer.get("results")) {
            if (r.get("id").asLong() == id) {
                return r.get("distance").asDouble();
            }
        }
        throw new AssertionError(id + " is not among the hits");
    }

    @Test
    void anExplanationIsValidAndItsDistanceIsTheSearchs() throws Exception {
        JsonNode a = search("k", "5", "scope", "all");
        for (JsonNode hit : a.get("results")) {
            var r = running.http.post(
                    "/api/explain",
                    new MultipartBody().field("id", hit.get("id").asText()).file("image", "q.png", query));
            assertEquals(200, r.statusCode(), Http.text(r));
            List<Error> errors = explanation.validate(Http.text(r), InputFormat.JSON);
            assertTrue(errors.isEmpty(), errors.toString());
            JsonNode e = Http.json(r);
            int g = e.get("grid").asInt();
            assertEquals(g * g, e.get("queryHeat").size());
            assertEquals(g * g, e.get("hitHeat").size());
            double d = hit.get("distance").asDouble();
            assertEquals(d, e.get("distance").asDouble(), 1e-3 * d + 1e-6, "the explained distance is the search's");
            assertTrue(e.get("queryOverlay").asText().startsWith("data:image/png;base64,"));
        }
    }

    @Test
    void twoIndexedImagesAreExplainedByGetAsTheUploadOfTheFirstIs() throws Exception {
        JsonNode a = search("k", "5", "scope", "all");
        long self = a.get("results").get(0).get("id").asLong();
        assertEquals(0, distance(a, self), 1e-6, "the query image is indexed");
        for (JsonNode hit : a.get("results")) {
            var r = running.http.get(
                    "/api/explain?query=" + self + "&id=" + hit.get("id").asText());
            assertEquals(200, r.statusCode(), Http.text(r));
            List<Error> errors = explanation.validate(Http.text(r), InputFormat.JSON);
            assertTrue(errors.isEmpty(), errors.toString());
            JsonNode e = Http.json(r);
            assertEquals(hit.get("id").asLong(), e.get("id").asLong());
            double d = hit.get("distance").asDouble();
            assertEquals(d, e.get("distance").asDouble(), 1e-3 * d + 1e-6, "the indexed query explains as its upload");
        }
        long other = a.get("results").get(1).get("id").asLong();
        Http.assertError(running.http.get("/api/explain?query=999999&id=" + other), 404, "not_found");
        Http.assertError(running.http.get("/api/explain?query=" + self + "&id=999999"), 404, "not_found");
        Http.assertError(running.http.get("/api/explain?query=" + self), 400, "bad_request");
        Http.assertError(running.http.get("/api/explain?query=x&id=" + other), 400, "bad_request");
        Http.assertError(
                running.http.get("/api/explain?query=" + self + "&id=" + other + "&region=0,0,500,500"),
                400,
                "bad_request");
        var part = Http.json(running.http.get("/api/explain?query=" + self + "&id=" + other + "&region=8,8,32,32"));
        assertNotEquals(distance(a, other), part.get("distance").asDouble(), "a part of the query is another query");
    }

    @Test
    void explanationMistakesAre400Or404() throws Exception {
        Http.assertError(
                running.http.post(
                        "/api/explain",
                        new MultipartBody().field("id", "999999").file("image", "q.png", query)),
                404,
                "not_found");
        Http.assertError(
                running.http.post("/api/explain", new MultipartBody().file("image", "q.png", query)),
                400,
                "bad_request");
        Http.assertError(
                running.http.post(
                        "/api/explain",
                        new MultipartBody()
                                .field("id", "0")
                                .field("region", "0,0,500,500")
                                .file("image", "q.png", query)),
                400,
                "bad_request");
    }

    @Test
    void aRegionSearchesWithThatPartAndTheWholeImageIsTheWholeImage() throws Exception {
        JsonNode whole = search("k", "5", "scope", "all");
        JsonNode same = search("k", "5", "scope", "all", "region", "0,0,64,64");
        assertEquals(whole.get("results"), same.get("results"), "a region that is the whole image changes nothing");
        JsonNode part = search("k", "5", "scope", "all", "region", "8,8,24,24");
        assertNotEquals(
                whole.get("results").get(0).get("distance"),
                part.get("results").get(0).get("distance"),
                "a corner of the query is another query");
        Http.assertError(running.http.search(query, "region", "60,60,16,16"), 400, "bad_request");
        Http.assertError(running.http.search(query, "region", "1,2,3"), 400, "bad_request");
        Http.assertError(running.http.search(query, "region", "0,0,4,4"), 400, "bad_request");
    }

    @Test
    void feedbackMovesTheQueryAndWidensTheScopeToTheClassesMarkedRelevant() throws Exception {
        JsonNode before = search("k", "10", "scope", "all");
        List<Long> first = ids(before);
        long rel = first.get(9);
        long irr = first.get(0);
        JsonNode after =
                search("k", "10", "scope", "all", "relevant", String.valueOf(rel), "irrelevant", String.valueOf(irr));
        List<Long> second = ids(after);
        assertTrue(second.indexOf(rel) >= 0 && second.indexOf(rel) < 9, "the relevant hit rises: " + second);
        // the query moves toward one and away from the other: the gap between them widens
        double gapBefore = distance(before, irr) - distance(before, rel);
        assertTrue(second.contains(irr), "the not-relevant hit is still near: " + second);
        double gapAfter = distance(after, irr) - distance(after, rel);
        assertTrue(gapAfter > gapBefore, gapBefore + " -> " + gapAfter);
        // a strong enough push away takes the hit marked not relevant off the top
        List<Long> pushed = ids(search(
                "k",
                "10",
                "scope",
                "all",
                "relevant",
                String.valueOf(rel),
                "irrelevant",
                String.valueOf(irr),
                "rocchio",
                "1,0.75,0.9"));
        assertTrue(pushed.indexOf(irr) != 0, "the hit marked not relevant is no longer first: " + pushed);
        // the predicted class's scope, widened by a hit of another class marked relevant
        JsonNode predicted = search("k", "10", "scope", "predicted");
        assertEquals(1, predicted.get("searched").size());
        String own = predicted.get("searched").get(0).asText();
        long other = -1;
        String otherClass = null;
        for (JsonNode r : search("k", "100", "scope", "all").get("results")) {
            if (!r.get("label").asText().equals(own)) {
                other = r.get("id").asLong();
                otherClass = r.get("label").asText();
                break;
            }
        }
        assertTrue(other >= 0, "the index has another class");
        JsonNode widened = search("k", "10", "scope", "predicted", "relevant", String.valueOf(other));
        List<String> searched = new ArrayList<>();
        widened.get("searched").forEach(s -> searched.add(s.asText()));
        assertTrue(searched.contains(own) && searched.contains(otherClass), searched.toString());
        Http.assertError(running.http.search(query, "relevant", "1,x"), 400, "bad_request");
        Http.assertError(running.http.search(query, "relevant", "3", "irrelevant", "3"), 400, "bad_request");
    }

    @Test
    void rocchiosWeightsAreTheClients() throws Exception {
        List<Long> first = ids(search("k", "10", "scope", "all"));
        long rel = first.get(9);
        String marked = String.valueOf(rel);
        // no weight on the marks: the query stays where it was
        assertEquals(first, ids(search("k", "10", "scope", "all", "relevant", marked, "rocchio", "1,0,0")));
        // the moved query is (q + 50 v) / 51, next to the marked hit's vector v: it comes first
        List<Long> pulled = ids(search("k", "10", "scope", "all", "relevant", marked, "rocchio", "1,50,0"));
        assertEquals(rel, pulled.get(0), pulled.toString());
        for (String bad : List.of("1,1,1", "0,1,0", "1,2", "1,x,0", "-1,1,0", "1,1e3,0")) {
            Http.assertError(running.http.search(query, "relevant", marked, "rocchio", bad), 400, "bad_request");
        }
    }
}
