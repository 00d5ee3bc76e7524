package org.medsearch.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option values from a configuration file and {@code MEDSEARCH_*} environment variables, beneath the
 * command line. For every option of every command the value comes from, first to last:
 * <ol>
 *   <li>the flag on the command line;</li>
 *   <li>the environment: {@code MEDSEARCH_SERVE_MAX_UPLOAD} for {@code serve}'s {@code --max-upload},
 *       or {@code MEDSEARCH_MAX_UPLOAD} for every command that has {@code --max-upload} (the command's
 *       own name wins);</li>
 *   <li>the file named by {@code --config FILE} (or {@code $MEDSEARCH_CONFIG}): Java properties,
 *       {@code serve.max-upload = 64} for one command, {@code max-upload = 64} for every command
 *       that has the option (again, the command's own key wins);</li>
 *   <li>the default.</li>
 * </ol>
 * A key or a variable that names no option is an error that names it (with the closest key, when
 * one is close), whichever command runs, so a typo never passes silently. The variables that carry
 * values of their own ({@link #RESERVED}: the write token, the PACS credentials, the TLS password,
 * the salt...) are not option variables. Secrets never come from the file or an option value: they
 * come from files the options name, or from those reserved variables, and {@link #describe} masks them.
 *
 * <pre>{@code
 * Settings s = Settings.load(args, System.getenv(), root); // reads --config FILE, checks every key
 * s.install(commandLine);                                 // under each command's own defaults
 * }</pre>
 */
final class Settings {

    static final String ENV_PREFIX = "MEDSEARCH_";
    static final String CONFIG_ENV = "MEDSEARCH_CONFIG";
    static final String CONFIG_OPTION = "--config";

    /** Variables with a meaning of their own: never taken as option values, never an unknown key. */
    static final Set<String> RESERVED = Set.of(
            CONFIG_ENV,
            "MEDSEARCH_TOKEN",
            "MEDSEARCH_TLS_PASSWORD",
            "MEDSEARCH_PACS_AUTH",
            "MEDSEARCH_PATIENT_SALT",
            "MEDSEARCH_UPLOADS",
            "MEDSEARCH_CACHE",
            "MEDSEARCH_THREADS",
            "MEDSEARCH_DEBUG",
            // the launcher's and the release image's own (bin/medsearch, the base image's script, the health check)
            "MEDSEARCH_JAVA_OPTS",
            "MEDSEARCH_JAVA",
            "MEDSEARCH_HEALTH_PORT",
            "MEDSEARCH_DEBIAN_MIRROR",
            "MEDSEARCH_DEBIAN_SECURITY");

    /** Of the reserved variables, those whose value is a secret: shown as set or not, never shown. */
    static final Set<String> SECRET =
            Set.of("MEDSEARCH_TOKEN", "MEDSEARCH_TLS_PASSWORD", "MEDSEARCH_PACS_AUTH", "MEDSEARCH_PATIENT_SALT");

    /** Options that are not settings: they act rather than configure. */
    private static final Set<String> NOT_SETTINGS =
            Set.of("--help", "--version", CONFIG_OPTION, "--print-config", "--debug");

    /** Where a value came from, for {@code --print-config} and for error messages. */
    record Source(String kind, String where) {
        @Override
        public String toString() {
            return where == null ? kind : kind + " " + where;
        }
    }

    /** One value and where it came from. */
    record Value(String value, Source source) {}

    private final Path file;
    /** command name ("" for every command) -> option name ("--port") -> value */
    private final Map<String, Map<String, Value>> fromFile;

    private final Map<String, Map<String, Value>> fromEnv;
    private final Map<String, String> env;

    private Settings(
            Path file,
            Map<String, Map<String, Value>> fromFile,
            Map<String, Map<String, Value>> fromEnv,
            Map<String, String> env) {
        this.file = file;
        this.fromFile = fromFile;
        this.fromEnv = fromEnv;
        this.env = env;
    }

    /**
     * Reads the file that {@code --config FILE} (or {@code $MEDSEARCH_CONFIG}) names, if any, and the
     * environment, and checks every key against the options of {@code root}'s commands.
     *
     * @throws MedsearchException for a missing or unreadable file, or a key or variable that names no option
     */
    static Settings load(String[] args, Map<String, String> env, CommandLine root) throws MedsearchException {
        Map<String, Map<String, String>> known = options(root);
        Path file = configFile(args, env);
        Map<String, Map<String, Value>> fromFile = new LinkedHashMap<>();
        if (file != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (NoSuchFileException e) {
                throw new MedsearchException(CONFIG_OPTION + " " + file + ": no such file");
            } catch (IOException | IllegalArgumentException e) {
                throw new MedsearchException(
                        CONFIG_OPTION + " " + file + ": cannot be read as key = value lines (" + e.getMessage() + ")");
            }
            for (String key : new java.util.TreeSet<>(p.stringPropertyNames())) {
                String[] at = resolveKey(key, known);
                if (at == null) {
                    throw new MedsearchException(
                            file + ": unknown key '" + key + "'" + suggestion(key, fileKeys(known)));
                }
                fromFile.computeIfAbsent(at[0], c -> new LinkedHashMap<>())
                        .put(at[1], new Value(p.getProperty(key).strip(), new Source("file", file + " key " + key)));
            }
        }
        Map<String, String[]> envNames = envNames(known);
        Map<String, Map<String, Value>> fromEnv = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || RESERVED.contains(name)) {
                continue;
            }
            String[] at = envNames.get(name);
            if (at == null) {
                throw new MedsearchException("environment variable " + name + " names no option of any command"
                        + suggestion(name, envNames.keySet()));
            }
            fromEnv.computeIfAbsent(at[0], c -> new LinkedHashMap<>())
                    .put(at[1], new Value(e.getValue().strip(), new Source("environment", name)));
        }
        return new Settings(file, fromFile, fromEnv, Map.copyOf(env));
    }

    /** The file {@code --config} names in {@code args} (as one argument or as {@code --config=FILE}), else {@code $MEDSEARCH_CONFIG}. */
    static Path configFile(String[] args, Map<String, String> env) throws MedsearchException {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--")) {
                break;
            }
            if (args[i].equals(CONFIG_OPTION)) {
                if (i + 1 >= args.length) {
                    throw new MedsearchException(CONFIG_OPTION + " needs a file");
                }
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith(CONFIG_OPTION + "=")) {
                return Path.of(args[i].substring(CONFIG_OPTION.length() + 1));
            }
        }
        String fromEnv = env.get(CONFIG_ENV);
        return fromEnv == null || fromEnv.isBlank() ? null : Path.of(fromEnv.strip());
    }

    /**
     * Gives every command a {@code --config FILE} option and puts these settings between its flags
     * and its own defaults.
     */
    void install(CommandLine root) {
        for (CommandLine c : commands(root)) {
            CommandSpec spec = c.getCommandSpec();
            if (spec.options().stream().noneMatch(o -> !NOT_SETTINGS.contains(o.longestName()))) {
                continue;
            }
            if (spec.findOption(CONFIG_OPTION) == null) {
                spec.addOption(OptionSpec.builder(CONFIG_OPTION)
                        .paramLabel("FILE")
                        .type(Path.class)
                        .description("Read option values from this file (key = value; see README,"
                                + " \"Configuration\"); flags and MEDSEARCH_* variables override it.")
                        .build());
            }
            IDefaultValueProvider below = spec.defaultValueProvider();
            String name = commandKey(c);
            // on this command's spec alone (CommandLine's setter would also replace its subcommands')
            spec.defaultValueProvider(arg -> {
                Optional<Value> v = arg instanceof OptionSpec o ? value(name, o.longestName()) : Optional.empty();
                if (v.isPresent()) {
                    return v.get().value();
                }
                return below == null ? null : below.defaultValue(arg);
            });
        }
    }

    /** The value the environment or the file gives an option of a command, if either does. */
    Optional<Value> value(String command, String option) {
        for (Map<String, Map<String, Value>> layer : List.of(fromEnv, fromFile)) {
            Value v = layer.getOrDefault(command, Map.of()).get(option);
            if (v == null) {
                v = layer.getOrDefault("", Map.of()).get(option);
            }
            if (v != null) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /** Where a command's option got its value: a flag, a variable, the file, or the default. */
    Source source(CommandLine c, OptionSpec o) {
        CommandLine.ParseResult parsed = c.getParseResult();
        if (parsed != null && parsed.hasMatchedOption(o)) {
            return new Source("flag", null);
        }
        return value(commandKey(c), o.longestName()).map(Value::source).orElse(new Source("default", null));
    }

    /**
     * The effective configuration of a parsed command as a configuration file: every setting with
     * its value and where it came from, and whether each secret variable is set (never its value).
     */
    List<String> describe(CommandLine c) {
        List<String> lines = new ArrayList<>();
        lines.add("# medsearch " + commandKey(c) + ": effective configuration (flag > environment > file > default)");
        lines.add("# configuration file: " + (file == null ? "none" : file.toAbsolutePath()));
        CommandSpec spec = c.getCommandSpec();
        List<OptionSpec> options = new ArrayList<>(spec.options());
        options.sort(Comparator.comparing(OptionSpec::longestName));
        for (OptionSpec o : options) {
            if (NOT_SETTINGS.contains(o.longestName())) {
                continue;
            }
            Object v = o.getValue();
            String shown = v == null
                    ? ""
                    : v instanceof List<?> l
                            ? String.join(",", l.stream().map(String::valueOf).toList())
                            : String.valueOf(v);
            lines.add(commandKey(c) + "." + o.longestName().substring(2) + " = " + shown + "    # " + source(c, o));
        }
        for (String s : new TreeMap<>(Map.of(
                        "token",
                        "MEDSEARCH_TOKEN",
                        "tls-password",
                        "MEDSEARCH_TLS_PASSWORD",
                        "pacs-auth",
                        "MEDSEARCH_PACS_AUTH",
                        "patient-salt",
                        "MEDSEARCH_PATIENT_SALT"))
                .values()) {
            lines.add("# $" + s + ": "
                    + (env.containsKey(s) && !env.get(s).isBlank() ? "set (secret, not shown)" : "not set"));
        }
        return lines;
    }

    // ---- the options there are ----

    /** command key ("serve", "solr.create") -> option long name -> the same; every command with options. */
    private static Map<String, Map<String, String>> options(CommandLine root) {
        Map<String, Map<String, String>> known = new TreeMap<>();
        for (CommandLine c : commands(root)) {
            Map<String, String> opts = new TreeMap<>();
            for (OptionSpec o : c.getCommandSpec().options()) {
                String n = o.longestName();
                if (!NOT_SETTINGS.contains(n) && n.startsWith("--")) {
                    opts.put(n, n);
                }
            }
            if (!opts.isEmpty()) {
                known.put(commandKey(c), opts);
            }
        }
        return known;
    }

    private static List<CommandLine> commands(CommandLine root) {
        List<CommandLine> all = new ArrayList<>();
        for (CommandLine c : root.getSubcommands().values()) {
            if (!all.contains(c)) {
                all.add(c);
                for (CommandLine sub : commands(c)) {
                    if (!all.contains(sub)) {
                        all.add(sub);
                    }
                }
            }
        }
        return all;
    }

    /** "serve", or "solr.create" for a sub-subcommand. */
    static String commandKey(CommandLine c) {
        List<String> names = new ArrayList<>();
        for (CommandLine x = c; x.getParent() != null; x = x.getParent()) {
            names.add(0, x.getCommandName());
        }
        return String.join(".", names);
    }

    /** [command key or "", option name] for a file key, or null when it names no option. */
    private static String[] resolveKey(String key, Map<String, Map<String, String>> known) {
        int dot = key.lastIndexOf('.');
        if (dot > 0) {
            Map<String, String> opts = known.get(key.substring(0, dot));
            String o = "--" + key.substring(dot + 1);
            return opts != null && opts.containsKey(o) ? new String[] {key.substring(0, dot), o} : null;
        }
        String o = "--" + key;
        return known.values().stream().anyMatch(m -> m.containsKey(o)) ? new String[] {"", o} : null;
    }

    private static Set<String> fileKeys(Map<String, Map<String, String>> known) {
        Set<String> keys = new java.util.TreeSet<>();
        known.forEach((c, opts) -> opts.keySet().forEach(o -> {
            keys.add(c + "." + o.substring(2));
            keys.add(o.substring(2));
        }));
        return keys;
    }

    /** Every option variable: MEDSEARCH_PORT (any command) and MEDSEARCH_SERVE_PORT (serve's). */
    private static Map<String, String[]> envNames(Map<String, Map<String, String>> known) {
        Map<String, String[]> names = new TreeMap<>();
        known.forEach((c, opts) -> opts.keySet().forEach(o -> {
            String general = envName(o.substring(2));
            if (!RESERVED.contains(general)) {
                names.putIfAbsent(general, new String[] {"", o});
            }
            String own = envName(c + "_" + o.substring(2));
            if (!RESERVED.contains(own)) {
                names.put(own, new String[] {c, o});
            }
        }));
        return names;
    }

    static String envName(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** " (did you mean 'x'?)" for the closest name within a few edits, else "". */
    static String suggestion(String given, java.util.Collection<String> names) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String n : names) {
            int d = distance(given.toLowerCase(Locale.ROOT), n.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = n;
                bestDistance = d;
            }
        }
        return best != null && bestDistance <= Math.max(2, given.length() / 4) ? " (did you mean '" + best + "'?)" : "";
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
