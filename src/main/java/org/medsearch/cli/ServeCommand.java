package org.medsearch.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import org.medsearch.server.ServerConfig;
import org.medsearch.server.Tokens;
import org.medsearch.service.IndexLocation;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch serve}: the REST API and the search page over a model and an index. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        defaultValueProvider = RecordDefaults.Serve.class,
        description = {
            "Serve the search page and the REST API (see /api/openapi.json) until Ctrl-C or SIGTERM.",
            "Writes (POST /api/images, DELETE /api/images/{id}) are off unless a token is given with --token-file "
                    + "or the MEDSEARCH_TOKEN environment variable, or writer tokens with --tokens; clients send it as"
                    + " 'Authorization: Bearer <token>'.",
            "Options also come from MEDSEARCH_* variables and --config FILE (flag > environment > file > default);"
                    + " --print-config shows the result."
        })
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "MODEL",
            description = "The model the index was built with.")
    Path model;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            required = true,
            paramLabel = "INDEX",
            description = "An index from 'medsearch index'.")
    IndexLocation index;

    @Option(names = "--host", description = "Address to bind (default ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", description = "TCP port, 0 for any free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--token-file",
            paramLabel = "FILE",
            description = "A file holding the bearer token for writes (else $MEDSEARCH_TOKEN; neither: writes off).")
    Path tokenFile;

    @Option(
            names = "--cors",
            paramLabel = "ORIGIN",
            description = "Allow browser calls from this origin, e.g. https://viewer.example.org (default: none).")
    String cors;

    @Option(
            names = "--queue",
            paramLabel = "N",
            description =
                    "Searches that may wait for the model beyond those it computes; more get 503 (default ${DEFAULT-VALUE}).")
    int queue;

    @picocli.CommandLine.Mixin
    RuntimeOption runtime;

    @picocli.CommandLine.Mixin
    FetchOption fetch;

    @Option(names = "--batch", paramLabel = "N", description = "Queries per forward pass (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--workers",
            paramLabel = "N",
            description =
                    "Threads running forward passes (default ${DEFAULT-VALUE}; each uses the engine's intra-op threads).")
    int workers;

    @Option(
            names = "--max-upload",
            paramLabel = "MiB",
            description = "Largest upload in MiB (default ${DEFAULT-VALUE}).")
    int maxUploadMiB;

    @Option(
            names = "--max-pixels",
            paramLabel = "MPX",
            description =
                    "Largest decoded image in megapixels, against decompression bombs (default ${DEFAULT-VALUE}).")
    int maxMegapixels;

    @Option(
            names = "--max-decoded",
            paramLabel = "MiB",
            description =
                    "Most memory one image's decode may take, in MiB: width x height x samples x bytes per sample "
                            + "x frames, plus working copies (default ${DEFAULT-VALUE}).")
    int maxDecodedMiB;

    @Option(
            names = "--decode-memory",
            paramLabel = "MiB",
            description = "Memory all decodes together may take, in MiB; a decode waits for room, then gets 503 "
                    + "(default ${DEFAULT-VALUE}).")
    int decodeMemoryMiB;

    @Option(
            names = "--min-upload-rate",
            paramLabel = "KiB/s",
            description =
                    "Slowest average upload rate, judged after 5 s; slower uploads get 408 (default ${DEFAULT-VALUE}).")
    int minUploadKiBps;

    @Option(
            names = "--upload-deadline",
            paramLabel = "SECONDS",
            description = "Longest a request body may take to arrive; later ones get 408 (default ${DEFAULT-VALUE}).")
    int uploadDeadlineSeconds;

    @Option(
            names = "--grace",
            paramLabel = "SECONDS",
            description = "How long a stop waits for requests in flight (default ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Option(
            names = "--pacs",
            paramLabel = "dicomweb://HOST:PORT/PATH",
            description = "A PACS's DICOMweb service: POST /api/search then also takes 'instance' (a SOP Instance"
                    + " UID) instead of an uploaded image. The PACS is only read.")
    String pacsLocation;

    @picocli.CommandLine.Mixin
    PacsOptions pacs;

    @Option(
            names = "--viewer-url",
            paramLabel = "TEMPLATE",
            description = "Link every hit indexed with --link-back to the PACS viewer: a URL with {study}, {series}"
                    + " and/or {instance}, e.g. 'https://ohif.example.org/viewer?StudyInstanceUIDs={study}'.")
    String viewerUrl;

    @Option(
            names = "--tokens",
            paramLabel = "FILE",
            description = "Named tokens with roles, one 'NAME ROLE TOKEN' per line (ROLE: search, writer, admin;"
                    + " TOKEN: sha256:HEX or the token; see 'medsearch token'). Instead of --token-file.")
    Path tokensFile;

    @Option(
            names = "--tls-keystore",
            paramLabel = "FILE",
            description = "Serve HTTPS only, with this PKCS#12 keystore (the server's key and certificate chain);"
                    + " its password from --tls-password-file or $MEDSEARCH_TLS_PASSWORD.")
    Path tlsKeystore;

    @Option(names = "--tls-password-file", paramLabel = "FILE", description = "A file holding the keystore's password.")
    Path tlsPasswordFile;

    @Option(
            names = "--plain-http",
            paramLabel = "redirect|refuse",
            description = "With --tls-keystore, what a plain-HTTP request gets: 'redirect' (GET and HEAD to"
                    + " https://, other methods refused) or 'refuse' (403) (default ${DEFAULT-VALUE}).")
    String plainHttp;

    @Option(
            names = "--audit",
            paramLabel = "FILE|off",
            description = "Append one JSON line per search, view, explanation, add and delete to FILE; if it cannot"
                    + " be written, requests are refused (503). 'off' keeps no trail (default ${DEFAULT-VALUE}).")
    String audit;

    @Option(
            names = "--audit-max-size",
            paramLabel = "MiB",
            description = "Rotate the audit file past this size (default ${DEFAULT-VALUE}).")
    int auditMaxMiB;

    @Option(
            names = "--audit-keep",
            paramLabel = "N",
            description = "Rotated audit files to keep (default ${DEFAULT-VALUE}).")
    int auditKeep;

    @Option(
            names = "--stats-access",
            paramLabel = "open|admin",
            description =
                    "Who may read /metrics and /api/stats: anyone, or admin tokens only (default ${DEFAULT-VALUE}).")
    String statsAccess;

    @Option(
            names = "--print-config",
            description = "Print the effective configuration (every setting, its value and where it came from;"
                    + " secrets masked) and exit.")
    boolean printConfig;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        if (printConfig) {
            Main.settings.describe(spec.commandLine()).forEach(out::println);
            out.flush();
            return 0;
        }
        org.medsearch.search.ViewerLink viewer =
                viewerUrl == null ? null : org.medsearch.search.ViewerLink.parse(viewerUrl);
        org.medsearch.dicomweb.DicomWebClient client = null;
        if (pacsLocation != null) {
            client = pacs.client(org.medsearch.dicomweb.DicomWebLocation.parse(pacsLocation));
            client.probe(); // a wrong password is said now, not at the first search
        }
        ServerConfig cfg;
        try {
            cfg = config(token(tokenFile))
                    .withTokens(tokens(tokenFile, tokensFile))
                    .withTls(tls())
                    .withAudit(audit())
                    .withStatsAdminOnly(statsAdminOnly());
        } catch (IllegalArgumentException e) {
            throw new MedsearchException(flagged(e.getMessage()));
        }
        Serving.run(
                model,
                index,
                runtime.value(),
                cfg,
                fetch.value(),
                new org.medsearch.server.PacsAccess(client, viewer),
                out,
                Output.err(spec));
        return 0;
    }

    /** The config's component names as this command's flags, for its messages (the units may differ: the message says). */
    static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("host", "--host"),
            Map.entry("port", "--port"),
            Map.entry("corsOrigin", "--cors"),
            Map.entry("queueSlots", "--queue"),
            Map.entry("maxBatch", "--batch"),
            Map.entry("workers", "--workers"),
            Map.entry("maxUploadBytes", "--max-upload"),
            Map.entry("maxPixels", "--max-pixels"),
            Map.entry("maxDecodedBytes", "--max-decoded"),
            Map.entry("decodeMemoryBytes", "--decode-memory"),
            Map.entry("minUploadBytesPerSecond", "--min-upload-rate"),
            Map.entry("uploadDeadline", "--upload-deadline"),
            Map.entry("grace", "--grace"),
            Map.entry("auditMaxBytes", "--audit-max-size"),
            Map.entry("auditKeep", "--audit-keep"));

    /** A config message, which starts with a component's name (and may compare it with another), in flags. */
    static String flagged(String message) {
        String[] words = message.split(" ", -1);
        for (int i = 0; i < words.length; i++) {
            // the first word, and a component named after "at least" (never words of a quoted value)
            if (i == 0 || (i > 1 && words[i - 2].equals("at") && words[i - 1].equals("least"))) {
                words[i] = FLAGS.getOrDefault(words[i], words[i]);
            }
        }
        return String.join(" ", words);
    }

    ServerConfig config(String token) {
        return ServerConfig.defaults()
                .withHost(host)
                .withPort(port)
                .withToken(token)
                .withCorsOrigin(cors)
                .withQueue(queue, batch, workers)
                .withLimits((long) maxUploadMiB << 20, (long) maxMegapixels << 20)
                .withDecodeMemory((long) maxDecodedMiB << 20, (long) decodeMemoryMiB << 20)
                .withUploadPace((long) minUploadKiBps << 10, Duration.ofSeconds(uploadDeadlineSeconds))
                .withGrace(Duration.ofSeconds(graceSeconds));
    }

    /** The tokens: a tokens file, or the one token of --token-file or $MEDSEARCH_TOKEN, or none. */
    static Tokens tokens(Path tokenFile, Path tokensFile) throws IOException {
        if (tokensFile != null && tokenFile != null) {
            throw new MedsearchException("give --tokens or --token-file, not both");
        }
        return tokensFile != null ? Tokens.read(tokensFile) : Tokens.single(token(tokenFile));
    }

    ServerConfig.Tls tls() throws IOException {
        ServerConfig.PlainHttp rule = switch (plainHttp.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "redirect" -> ServerConfig.PlainHttp.REDIRECT;
            case "refuse" -> ServerConfig.PlainHttp.REFUSE;
            default -> throw new MedsearchException("--plain-http must be redirect or refuse, got '" + plainHttp + "'");
        };
        if (tlsKeystore == null) {
            if (tlsPasswordFile != null) {
                throw new MedsearchException("--tls-password-file needs --tls-keystore");
            }
            return null;
        }
        String password;
        if (tlsPasswordFile != null) {
            password = readSecret(tlsPasswordFile, "--tls-password-file");
        } else {
            password = System.getenv("MEDSEARCH_TLS_PASSWORD");
            if (password == null) {
                throw new MedsearchException(
                        "--tls-keystore needs its password: --tls-password-file FILE or $MEDSEARCH_TLS_PASSWORD");
            }
        }
        return new ServerConfig.Tls(tlsKeystore, password, rule);
    }

    ServerConfig.Audit audit() throws MedsearchException {
        String a = audit.strip();
        if (a.equalsIgnoreCase("off")) {
            return ServerConfig.Audit.OFF;
        }
        if (a.isEmpty()) {
            throw new MedsearchException("--audit needs a file, or 'off'");
        }
        if (auditMaxMiB < 1) {
            throw new MedsearchException("--audit-max-size must be at least 1 MiB");
        }
        return new ServerConfig.Audit(
                Path.of(a.replaceFirst("^~(?=/|$)", System.getProperty("user.home"))),
                (long) auditMaxMiB << 20,
                auditKeep);
    }

    boolean statsAdminOnly() throws MedsearchException {
        return switch (statsAccess.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "open" -> false;
            case "admin" -> true;
            default -> throw new MedsearchException("--stats-access must be open or admin, got '" + statsAccess + "'");
        };
    }

    /** The token from a file, else from $MEDSEARCH_TOKEN, else null (writes off). */
    static String token(Path file) throws IOException {
        if (file != null) {
            String t = readSecret(file, "--token-file");
            if (t.isEmpty()) {
                throw new MedsearchException("--token-file " + file + " is empty");
            }
            return t;
        }
        String env = System.getenv("MEDSEARCH_TOKEN");
        return env == null || env.isBlank() ? null : env;
    }

    /** A secret from the file a flag names, stripped of surrounding white space. */
    static String readSecret(Path file, String flag) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            throw new MedsearchException(flag + " " + file + " does not exist");
        }
    }
}
