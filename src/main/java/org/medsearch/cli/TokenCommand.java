package org.medsearch.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.medsearch.server.Tokens;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code medsearch token NAME --role ROLE --tokens FILE}: a new random token for {@code serve --tokens}.
 * The token is printed once; the file gets only its SHA-256, so the file is no secret.
 */
@Command(
        name = "token",
        mixinStandardHelpOptions = true,
        description = {
            "Make a new bearer token for 'serve --tokens FILE': 32 random bytes, printed once on standard output.",
            "The file gets the line 'NAME ROLE sha256:HASH' (created with mode 600); the server keeps only hashes."
        })
final class TokenCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "NAME",
            description = "Who holds it, as the audit trail names it (e.g. alice).")
    String name;

    @Option(
            names = "--role",
            required = true,
            paramLabel = "search|writer|admin",
            description = "search: search and view; writer: also add and delete; admin: also /metrics and /api/stats.")
    String role;

    @Option(names = "--tokens", required = true, paramLabel = "FILE", description = "The tokens file to add it to.")
    Path file;

    @Override
    public Integer call() throws IOException {
        Tokens.Role r;
        try {
            r = Tokens.Role.valueOf(role.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("--role must be search, writer or admin, got '" + role + "'");
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = HexFormat.of().formatHex(random);
        String line;
        try {
            line = Tokens.line(name, r, token);
        } catch (IllegalArgumentException e) {
            throw new MedsearchException(e.getMessage());
        }
        if (Files.exists(file)) {
            // refuses a broken file before it grows
            if (Tokens.read(file).has(name)) {
                throw new MedsearchException(file + " already has a token named '" + name + "'");
            }
        } else {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            try {
                Files.createFile(
                        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
        }
        Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        PrintWriter out = Output.out(spec);
        out.println(token);
        out.flush();
        Output.err(spec)
                .println("medsearch: token '" + name + "' (" + r.key() + ") added to " + file
                        + "; it is shown only now: give it to its holder");
        Output.err(spec).flush();
        return 0;
    }
}
