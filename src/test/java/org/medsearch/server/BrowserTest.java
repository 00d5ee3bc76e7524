package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.TestImages;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.Rectangle;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in a real browser: Debian's Chromium, driven by its chromedriver, against a real server.
 * Every test leaves a screenshot in {@code target/screenshots/}. Skips where Chromium or
 * chromedriver is not installed ({@code .ci/run} installs both).
 */
class BrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "screenshots");
    static final String CORS_ORIGIN = "https://viewer.example.org";

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static WebDriver driver;
    String name;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(
                Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "skipped: /usr/bin/chromium or /usr/bin/chromedriver is absent (apt-get install chromium chromium-driver)");
        built = Fixture.synthetic();
        // with a CORS origin set: the page's own requests (same-origin POSTs carry an Origin header) must still work
        running = Fixture.start(built, ServerConfig.defaults().withCorsOrigin(CORS_ORIGIN), scratch);
        Files.createDirectories(SCREENSHOTS);
        driver = browser(scratch.resolve("chromium-profile"));
    }

    /** Headless Chromium that talks to nothing but this machine, with a fresh profile. */
    static WebDriver browser(Path profile) {
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile.toAbsolutePath(),
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
                "--window-size=1280,900");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, o);
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (running != null) {
            running.close();
        }
    }

    @BeforeEach
    void open(TestInfo info) {
        name = info.getTestMethod().orElseThrow().getName();
        driver.manage().window().setSize(new Dimension(1280, 900));
        driver.get(running.server.url());
        waitUntil(d -> text("index-info").contains("indexed images"));
    }

    @AfterEach
    void screenshot() {
        if (driver != null) {
            screenshotAs(name);
        }
    }

    /** Chooses the fixture's image {@code relative} as the query, through the file input. */
    static void upload(String relative) {
        driver.findElement(By.id("file"))
                .sendKeys(built.data().resolve(relative).toAbsolutePath().toString());
    }

    static void waitUntil(java.util.function.Function<WebDriver, Boolean> condition) {
        new WebDriverWait(driver, Duration.ofSeconds(60)).until(condition::apply);
    }

    static String text(String id) {
        return driver.findElement(By.id(id)).getText();
    }

    static List<WebElement> results() {
        return driver.findElements(By.cssSelector("#results .result"));
    }

    static Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /** Waits for k thumbnails, all loaded. */
    static void waitForResults(int k) {
        waitUntil(
                d -> results().size() == k
                        && (Boolean)
                                js(
                                        "return [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"));
    }

    @Test
    void anUploadShowsThePredictionBarsAndTheGrid() {
        upload("disc/img_004.png");
        waitForResults(10);
        assertEquals("disc", text("predicted-class"));
        List<WebElement> bars = driver.findElements(By.cssSelector("#probabilities li"));
        assertEquals(3, bars.size());
        assertTrue(
                bars.get(0).getText().startsWith("disc"),
                "the predicted class comes first: " + bars.get(0).getText());
        for (WebElement r : results()) {
            assertTrue(r.getText().startsWith("disc"), r.getText());
            assertTrue(r.getText().contains("distance"), r.getText());
        }
        assertTrue(text("status").contains("10 most similar images of class disc"), text("status"));
        // the similar cases' labels, weighted by closeness: all disc here, so no disagreement note
        assertTrue(driver.findElement(By.id("vote")).isDisplayed(), "the vote line shows");
        assertTrue(text("vote").startsWith("Similar cases by label"), text("vote"));
        assertTrue(text("vote").contains("disc 100%"), text("vote"));
        assertFalse(driver.findElement(By.id("vote-note")).isDisplayed(), "the vote agrees: no note");
        assertTrue((Boolean) js("return !document.getElementById('query-preview').hidden"), "the query is shown");
    }

    @Test
    void aMedNistUploadIsClassifiedAndAnswered() throws Exception {
        Fixture.Built mednist = Fixture.mednist();
        try (Fixture.Running m = Fixture.start(mednist, ServerConfig.defaults(), scratch)) {
            driver.get(m.server.url());
            waitUntil(d -> text("index-info").contains("600 indexed images in 6 classes"));
            Path query;
            try (Stream<Path> s = Files.list(mednist.data().resolve("HeadCT"))) {
                query = s.sorted().skip(7).findFirst().orElseThrow();
            }
            driver.findElement(By.id("file")).sendKeys(query.toAbsolutePath().toString());
            waitForResults(10);
            assertEquals("HeadCT", text("predicted-class"));
            assertEquals(
                    6, driver.findElements(By.cssSelector("#probabilities li")).size());
            long headCt = results().stream()
                    .filter(r -> r.getText().startsWith("HeadCT"))
                    .count();
            assertEquals(10, headCt, "scope 'predicted' shows the predicted class only");
        }
    }

    @Test
    void aTextFileIsRejectedWithAClearMessage() throws Exception {
        Path text = Files.writeString(scratch.resolve("notes.png"), "Patient seen on Monday. Not an image.\n");
        driver.findElement(By.id("file")).sendKeys(text.toAbsolutePath().toString());
        waitUntil(d -> d.findElement(By.id("error")).isDisplayed());
        String message = text("error");
        assertTrue(message.contains("This file was rejected."), message);
        assertTrue(message.contains("Not an image medsearch can read"), message);
        assertEquals("alert", driver.findElement(By.id("error")).getAttribute("role"));
        assertEquals(0, results().size());
        assertTrue(text("status").startsWith("No results"), text("status"));
    }

    @Test
    void aDroppedFileIsSearched() throws Exception {
        byte[] png = TestImages.png(TestImages.pattern("stripes", 64, new Random(77)));
        js(
                "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
                        + "const dt = new DataTransfer();"
                        + "dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));"
                        + "document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,"
                        + " cancelable: true}));",
                Base64.getEncoder().encodeToString(png));
        waitForResults(10);
        assertEquals("stripes", text("predicted-class"));
        assertEquals("dropped.png", text("file-name"));
    }

    @Test
    void kAndScopeChangeTheSearch() {
        upload("columns/img_002.png");
        waitForResults(10);
        driver.findElement(By.id("k")).sendKeys(Keys.chord(Keys.CONTROL, "a"), "4", Keys.TAB);
        waitForResults(4);
        new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("scope"))).selectByValue("all");
        waitUntil(d -> text("status").contains("among all classes"));
        assertEquals(4, results().size());
        new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("scope"))).selectByValue("top:2");
        waitUntil(d -> text("status").matches(".*among \\w+, \\w+ .*"));
        assertEquals(4, results().size());
    }

    @Test
    void theKeyboardReachesEveryControlAndTheViewer() {
        // the chooser itself is the browser's; count the drop zone's requests for it instead of opening it
        js("window.pickerRequests = 0; document.getElementById('file').addEventListener('click', e => {"
                + " window.pickerRequests++; e.preventDefault(); });");
        Actions keys = new Actions(driver);
        keys.sendKeys(Keys.TAB).perform();
        assertEquals("Skip to results", driver.switchTo().activeElement().getText());
        keys.sendKeys(Keys.TAB).perform();
        assertEquals("drop", driver.switchTo().activeElement().getAttribute("id"));
        assertEquals("solid", js("return getComputedStyle(document.activeElement).outlineStyle"), "focus is visible");
        keys.sendKeys(Keys.ENTER).perform();
        keys.sendKeys(Keys.SPACE).perform();
        assertEquals(2L, js("return window.pickerRequests"), "Enter and Space open the file picker");
        keys.sendKeys(Keys.TAB).perform();
        assertEquals("file", driver.switchTo().activeElement().getAttribute("id"));
        keys.sendKeys(Keys.TAB).perform();
        assertEquals("k", driver.switchTo().activeElement().getAttribute("id"));
        keys.sendKeys(Keys.TAB).perform();
        assertEquals("scope", driver.switchTo().activeElement().getAttribute("id"));

        upload("disc/img_020.png");
        waitForResults(10);
        js("document.getElementById('scope').focus()");
        keys.sendKeys(Keys.TAB).perform();
        WebElement first = driver.switchTo().activeElement();
        assertTrue(first.getAttribute("aria-label").startsWith("Result 1: disc"), first.getAttribute("aria-label"));
        keys.sendKeys(Keys.ENTER).perform();
        waitUntil(d -> (Boolean) js("return document.getElementById('viewer').open"));
        waitUntil(d -> (Boolean)
                js("const i = document.getElementById('viewer-image'); return i.complete && i.naturalWidth > 0"));
        assertEquals("viewer-close", driver.switchTo().activeElement().getAttribute("id"));
        assertTrue(text("viewer-title").startsWith("Result 1: disc"), text("viewer-title"));
        screenshotAs(name + "-viewer");
        keys.sendKeys(Keys.ESCAPE).perform();
        waitUntil(d -> !(Boolean) js("return document.getElementById('viewer').open"));
        assertEquals(first, driver.switchTo().activeElement(), "focus returns to the result");
    }

    @Test
    void drawingARegionSearchesWithThatPartOfTheQuery() {
        upload("disc/img_004.png");
        waitForResults(10);
        String whole = firstDistance();
        WebElement img = driver.findElement(By.id("query-preview"));
        Rectangle r = img.getRect();
        new org.openqa.selenium.interactions.Actions(driver)
                .moveToElement(img, -r.getWidth() / 4, -r.getHeight() / 4)
                .clickAndHold()
                .moveByOffset(r.getWidth() / 2, r.getHeight() / 2)
                .release()
                .perform();
        waitUntil(d -> text("region-text").startsWith("Searching the region"));
        waitUntil(d -> results().size() == 10 && !firstDistance().equals(whole));
        assertTrue(
                text("region-text").matches("Searching the region \\d+×\\d+ at \\(\\d+, \\d+\\)\\."),
                text("region-text"));
        assertTrue(driver.findElement(By.id("region-box")).isDisplayed(), "the box stays drawn");
        assertFalse(
                (Boolean) js("return document.activeElement && document.activeElement.id === 'file'"),
                "drawing did not open the file chooser");
        screenshotAs(name + "-region");
        driver.findElement(By.id("region-clear")).click();
        waitUntil(d -> text("region-text").startsWith("Drag on the image"));
        waitUntil(d -> results().size() == 10 && firstDistance().equals(whole));
    }

    @Test
    void openingAHitShowsBothSimilarityMaps() {
        upload("columns/img_011.png");
        waitForResults(10);
        results().get(1).click();
        waitUntil(d -> (Boolean) js("return document.getElementById('viewer').open"));
        waitUntil(d -> (Boolean) js("const q = document.getElementById('explain-query'),"
                + " h = document.getElementById('explain-hit');"
                + " return !document.getElementById('explain').hidden && q.complete && q.naturalWidth > 0"
                + " && h.complete && h.naturalWidth > 0"));
        assertEquals(256L, js("return document.getElementById('explain-query').naturalWidth"));
        screenshotAs(name + "-maps");
        driver.findElement(By.id("viewer-close")).click();
    }

    @Test
    void aResultOpenedBecomesTheQueryOfTheNextSearch() {
        upload("columns/img_011.png");
        waitForResults(10);
        String chosen = results().get(4).getAttribute("data-id");
        results().get(4).click();
        waitUntil(d -> (Boolean) js("return document.getElementById('viewer').open"));
        driver.findElement(By.id("viewer-search")).click();
        // the case itself is indexed: it comes first, at distance 0, and the viewer is closed
        waitUntil(d -> text("file-name").equals("result " + chosen + ".png") && rankOf(chosen) == 0);
        waitForResults(10);
        assertEquals(
                0.0, Double.parseDouble(firstDistance().replace("distance", "").strip()), 1e-6);
        assertFalse((Boolean) js("return document.getElementById('viewer').open"));
        assertTrue((Boolean) js("return !document.getElementById('query-preview').hidden"), "the new query is shown");
        screenshotAs(name + "-more-like-this");
    }

    @Test
    void markingHitsAndSearchingAgainMovesTheQuery() {
        upload("stripes/img_012.png");
        waitForResults(10);
        List<WebElement> items = driver.findElements(By.cssSelector("#results li"));
        String relevant = items.get(8).findElement(By.cssSelector(".result")).getAttribute("data-id");
        String irrelevant = items.get(1).findElement(By.cssSelector(".result")).getAttribute("data-id");
        items.get(8).findElement(By.cssSelector(".mark.relevant")).click();
        items.get(9).findElement(By.cssSelector(".mark.relevant")).click();
        items.get(1).findElement(By.cssSelector(".mark.irrelevant")).click();
        assertEquals(
                "true",
                items.get(8).findElement(By.cssSelector(".mark.relevant")).getAttribute("aria-pressed"));
        assertTrue(text("marks").startsWith("2 relevant, 1 not relevant"), text("marks"));
        screenshotAs(name + "-marked");
        driver.findElement(By.id("refine")).click();
        // the query moved toward results 9 and 10 and away from result 2: the first rises, the last falls
        waitUntil(d -> rankOf(relevant) >= 0 && rankOf(relevant) < 8);
        assertTrue(
                rankOf(irrelevant) < 0 || rankOf(irrelevant) > 1, "rank of the irrelevant hit: " + rankOf(irrelevant));
        screenshotAs(name + "-refined");
    }

    /** The first hit's distance as shown, read in one script (the grid may be re-rendered meanwhile). */
    static String firstDistance() {
        Object d = js("const e = document.querySelector('#results .result .distance'); return e ? e.textContent : ''");
        return String.valueOf(d);
    }

    /** The 0-based rank of the hit with this id on the page, or -1; read in one script. */
    static int rankOf(String id) {
        Object ids = js("return [...document.querySelectorAll('#results .result')].map(b => b.dataset.id)");
        return ((List<?>) ids).indexOf(id);
    }

    @Test
    void onATabletTheQueryComesAboveTheResults() {
        driver.manage().window().setSize(new Dimension(820, 1180));
        driver.get(running.server.url());
        upload("stripes/img_030.png");
        waitForResults(10);
        Rectangle query = driver.findElement(By.cssSelector(".panel.query")).getRect();
        Rectangle res = driver.findElement(By.cssSelector(".panel.results")).getRect();
        assertTrue(res.getY() >= query.getY() + query.getHeight(), "one column: results below the query");
        assertTrue(query.getWidth() > 700, "the query panel takes the width: " + query.getWidth());
        long overflow = (Long) js("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
        assertEquals(0L, overflow, "no horizontal scrolling");
    }

    static void screenshotAs(String file) {
        try {
            File f = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
            Files.copy(f.toPath(), SCREENSHOTS.resolve(file + ".png"), StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
