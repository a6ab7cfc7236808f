package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;

/**
 * The dashboard in a real browser: a 2-worker job (worker JVMs, embedded ZooKeeper) with its
 * dashboard, Debian's headless chromium driven through Selenium. Checks that the page shows two
 * training workers with disjoint class ranges covering [0, C), a loss curve that gains points while
 * the test watches, and, after one worker is killed (kill -9), the generation change and the
 * survivor's new range [0, C) — all without a reload (a marker set in the page's window survives).
 * Also checks the workers' and the coordinator's {@code /metrics} (Prometheus text, token required).
 * Saves a screenshot as {@code target/dashboard.png} on every run (and as the README's
 * {@code docs/dashboard.png} with {@code -Dplsc4j.docs.screenshot=true}).
 *
 * <p>Skipped, with the reason, where chromium or its driver is not installed ({@code .ci/run}
 * installs both).
 */
@ExtendWith(TestSeed.class)
class DashboardBrowserTest {

    private static final int CLASSES = 60;
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, CLASSES, 8).withImageSize(16).withPairs(20)
                .withSeed(TestSeed.of("dashboard-data")));
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void thePageFollowsAJobThroughAWorkerLossWithoutReloading() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "no browser: " + CHROMIUM + " and " + DRIVER + " are needed (Debian: apt-get install chromium"
                        + " chromium-driver; .ci/run installs them)");
        Path save = dir.resolve("job");
        Files.createDirectories(save);
        // many epochs: the test closes the job once it has seen what it checks
        TrainConfig cfg = ClusterTrainingTest.configFor(data, save, CLASSES, 200, Map.of("min_workers", 1,
                "max_workers", 2, "max_restarts", 3, "calc_acc", true, "with_test", true,
                "val_targets", "synth", "test_batch_size", 20, "train_batch_size", 24), TestSeed.of("dashboard-seed"));
        WebDriver browser = null;
        try (LocalLauncher.Job job = LocalLauncher.start(cfg, 2, null, null)) {
            DashboardServer dash = job.startDashboard("127.0.0.1", 0);
            browser = browser();
            browser.get(dash.url() + "#token=" + job.token());
            JavascriptExecutor js = (JavascriptExecutor) browser;
            js.executeScript("window.__noReload = 'still here';");
            // the page redraws every second: an element found may be replaced before it is read
            WebDriverWait wait = new WebDriverWait(browser, WAIT, Duration.ofMillis(200));
            wait.ignoring(StaleElementReferenceException.class);

            // two training workers whose ranges tile [0, C)
            List<int[]> ranges = wait.withMessage("two training workers with class ranges").until(d -> {
                List<int[]> r = trainingRanges(d);
                return r.size() == 2 ? r : null;
            });
            ranges.sort(Comparator.comparingInt(r -> r[0]));
            assertEquals(0, ranges.get(0)[0], "the first range starts at 0");
            assertEquals(ranges.get(0)[1], ranges.get(1)[0], "disjoint and contiguous: " + show(ranges));
            assertEquals(CLASSES, ranges.get(1)[1], "the last range ends at C");
            assertTrue(ranges.get(0)[1] > ranges.get(0)[0] && ranges.get(1)[1] > ranges.get(1)[0], show(ranges));
            assertEquals(2L, js.executeScript("return document.querySelectorAll('#ranges g.range').length;"),
                    "two bars in the range chart");
            assertEquals("1", text(browser, "job-generation"));

            // the loss curve gains points while we watch
            int before = wait.withMessage("loss points").until(d -> {
                int n = lossPoints(d);
                return n > 0 ? n : null;
            });
            int later = wait.withMessage("more loss points than " + before).until(d -> {
                int n = lossPoints(d);
                return n > before ? n : null;
            });
            System.err.println("loss curve: " + before + " -> " + later + " points");

            // every worker's /metrics (from the table) and the coordinator's, with the token only
            HttpClient http = HttpClient.newHttpClient();
            List<String> urls = wait.withMessage("both workers' metrics addresses").until(d -> {
                List<String> u = new ArrayList<>();
                for (WebElement row : d.findElements(By.cssSelector("#workers tbody tr[data-state=training] code"))) {
                    u.add(row.getText());
                }
                return u.size() == 2 ? u : null;
            });
            for (String u : urls) {
                String m = get(http, u, job.token(), 200);
                assertTrue(m.contains("plsc4j_train_step_seconds_count"), u + ":\n" + m);
                assertTrue(m.contains("plsc4j_collective_bytes_total{op=\"all_reduce\"}"), u);
                assertTrue(m.contains("plsc4j_store_bytes_total{direction=\"write\"}"), u);
                assertTrue(m.contains("plsc4j_offheap_javacpp_bytes"), u);
                get(http, u, "wrong-token", 401);
            }
            String coordinatorMetrics = get(http, dash.url() + "metrics", job.token(), 200);
            assertTrue(coordinatorMetrics.contains("jvm_memory_used_bytes"), coordinatorMetrics);
            assertTrue(coordinatorMetrics.contains("plsc4j_job_world_size{job=\"" + job.name() + "\"} 2.0"),
                    coordinatorMetrics);
            get(http, dash.url() + "api/state", null, 401);

            // an epoch ended: its checkpoint and the val_targets accuracy are on the page
            wait.withMessage("the val_targets chart").until(d -> !d.findElements(
                    By.cssSelector("#chart-val circle")).isEmpty());
            wait.withMessage("a checkpoint event").until(d -> !d.findElements(
                    By.cssSelector("#events li.checkpoint")).isEmpty());

            // kill -9 one worker: the page shows the loss, the new generation and the survivor's range
            Process victim = job.workers().get(1);
            victim.destroyForcibly();
            assertTrue(victim.waitFor(30, TimeUnit.SECONDS), "the killed worker exits");
            wait.withMessage("generation 2 with one worker owning [0, C) and one lost worker").until(d -> {
                List<int[]> r = trainingRanges(d);
                return r.size() == 1 && r.get(0)[0] == 0 && r.get(0)[1] == CLASSES
                        && d.findElements(By.cssSelector("#workers tbody tr[data-state=lost]")).size() == 1
                        && Long.parseLong(text(d, "job-generation")) >= 2;
            });
            wait.withMessage("a generation event naming the worker that left").until(d -> d.findElements(
                    By.cssSelector("#events li.generation")).stream().anyMatch(li -> li.getText().contains("left")));
            wait.withMessage("a generation marker on the loss curve").until(d -> !d.findElements(
                    By.cssSelector("#chart-loss g.gen-marker[data-generation='2']")).isEmpty());
            int afterLoss = wait.until(DashboardBrowserTest::lossPoints);
            wait.withMessage("loss points after the generation change").until(d -> lossPoints(d) > afterLoss);
            assertEquals("still here", js.executeScript("return window.__noReload;"), "the page was never reloaded");
            assertTrue(Long.parseLong((String) js.executeScript("return document.body.getAttribute('data-polls');")) > 3);

            screenshot(browser);
        } finally {
            if (browser != null) {
                browser.quit();
            }
        }
    }

    private static WebDriver browser() {
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1500", "--hide-scrollbars", "--force-device-scale-factor=1");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, o);
    }

    /** [start, end) of every row in state "training", from the table's data attributes. */
    private static List<int[]> trainingRanges(WebDriver d) {
        List<int[]> out = new ArrayList<>();
        for (WebElement row : d.findElements(By.cssSelector("#workers tbody tr[data-state=training]"))) {
            String s = row.getAttribute("data-class-start");
            String e = row.getAttribute("data-class-end");
            if (s != null && e != null) {
                out.add(new int[] {Integer.parseInt(s), Integer.parseInt(e)});
            }
        }
        return out;
    }

    private static int lossPoints(WebDriver d) {
        List<WebElement> svg = d.findElements(By.id("chart-loss"));
        return svg.isEmpty() ? 0 : Integer.parseInt(svg.get(0).getAttribute("data-points"));
    }

    private static String text(WebDriver d, String id) {
        return d.findElement(By.id(id)).getText().strip();
    }

    private static String show(List<int[]> ranges) {
        return ranges.stream().map(r -> "[" + r[0] + ", " + r[1] + ")").toList().toString();
    }

    private static String get(HttpClient http, String url, String token, int expected) throws IOException,
            InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(expected, r.statusCode(), url + ": " + r.body());
        return r.body();
    }

    private static void screenshot(WebDriver browser) throws IOException {
        Path png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Path target = Path.of("target", "dashboard.png");
        Files.createDirectories(target.getParent());
        Files.copy(png, target, StandardCopyOption.REPLACE_EXISTING);
        System.err.println("screenshot: " + target.toAbsolutePath());
        if (Boolean.getBoolean("plsc4j.docs.screenshot")) {
            Path docs = Path.of("..", "docs", "dashboard.png");
            Files.copy(png, docs, StandardCopyOption.REPLACE_EXISTING);
            System.err.println("README screenshot: " + docs.toAbsolutePath().normalize());
        }
    }
}
