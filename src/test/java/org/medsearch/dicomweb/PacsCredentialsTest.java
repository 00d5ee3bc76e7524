package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.util.MedsearchException;

/**
 * {@link PacsCredentials}: basic and bearer credentials from text, a file or the environment, the
 * {@code Authorization} values they give (decoded back, not compared with the code's own
 * encoding), the refusals of malformed text, and that neither {@code toString()} nor a refusal
 * shows the secret.
 */
class PacsCredentialsTest {

    @TempDir
    Path dir;

    @Test
    void basicHeaderIsBase64OfUserColonPassword() throws Exception {
        PacsCredentials c = PacsCredentials.parse("basic radiology:s3cret", "test");
        assertEquals("radiology:s3cret", decodeBasic(c.header()));
        assertEquals("Basic cmFkaW9sb2d5OnMzY3JldA==", c.header(), "RFC 7617's encoding of radiology:s3cret");
        assertEquals(
                "radiology:s3cret",
                decodeBasic(PacsCredentials.basic("radiology", "s3cret").header()));
    }

    @Test
    void aPasswordMayHoldColonsSpacesAndNonAscii() throws Exception {
        PacsCredentials c = PacsCredentials.parse("basic ris:pa:ss:word", "test");
        assertEquals("ris:pa:ss:word", decodeBasic(c.header()));
        assertEquals(
                "ris:a b c",
                decodeBasic(PacsCredentials.parse("basic ris:a b c", "test").header()));
        assertEquals(
                "jürgen:größe",
                decodeBasic(PacsCredentials.parse("basic jürgen:größe", "t").header()));
        assertEquals(
                "ris:", decodeBasic(PacsCredentials.parse("basic ris:", "t").header()));
    }

    @Test
    void schemeIsCaseInsensitiveAndWhiteSpaceAndTrailingNewlineAreIgnored() throws Exception {
        assertEquals("u:p", decodeBasic(PacsCredentials.parse("BASIC u:p", "t").header()));
        assertEquals(
                "u:p",
                decodeBasic(PacsCredentials.parse("  Basic    u:p  \n", "t").header()));
        assertEquals(
                "u:p", decodeBasic(PacsCredentials.parse("basic u:p\r\n", "t").header()));
        assertEquals(
                "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-_~+/=",
                PacsCredentials.parse("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-_~+/=\n", "t")
                        .header());
        assertEquals("Bearer abc", PacsCredentials.parse("BEARER   abc", "t").header());
    }

    @Test
    void refusesMalformedTextNamingTheSourceAndTheForms() {
        for (String bad : List.of(
                "",
                "   \n",
                "basic",
                "bearer",
                "bearer   ",
                "digest user:pw",
                "token abc",
                "user:pw",
                "basic u:p\nbasic v:q",
                "bearer abc\r\ndef",
                "basic userpw",
                "basic :pw",
                "bearer two words")) {
            MedsearchException e =
                    assertThrows(MedsearchException.class, () -> PacsCredentials.parse(bad, "the file X"), bad);
            assertTrue(e.getMessage().startsWith("the file X"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        assertTrue(message("basic userpw").contains("'basic USER:PASSWORD' or 'bearer TOKEN'"));
        assertTrue(message("basic userpw").contains("no user:password"));
        assertTrue(message("digest user:pw").contains("'basic USER:PASSWORD' or 'bearer TOKEN'"));
        assertTrue(message("basic u:p\nbasic v:q").contains("one line"));
        assertTrue(message("bearer two words").contains("no spaces"));
    }

    @Test
    void neitherToStringNorARefusalShowsTheSecret() throws Exception {
        PacsCredentials basic = PacsCredentials.parse("basic radiology:Sup3rS3cret", "t");
        assertEquals("basic credentials", basic.toString());
        assertSecretAbsent(basic.toString(), "Sup3rS3cret", basic.header());
        PacsCredentials bearer = PacsCredentials.bearer("tok-Sup3rS3cret");
        assertEquals("bearer credentials", bearer.toString());
        assertSecretAbsent(bearer.toString(), "Sup3rS3cret", bearer.header());
        for (String bad : List.of(
                "bearer Sup3rS3cret Sup3rS3cret",
                "basic Sup3rS3cret",
                "secret Sup3rS3cret",
                "basic a:b\nSup3rS3cret")) {
            assertSecretAbsent(message(bad), "Sup3rS3cret", "");
        }
    }

    @Test
    void readsTheFileBeforeTheEnvironment() throws Exception {
        Path file = dir.resolve("pacs-auth");
        Files.writeString(file, "basic fromfile:pw\n", StandardCharsets.UTF_8);
        Map<String, String> env = Map.of(PacsCredentials.ENV, "bearer fromenv");
        assertEquals(
                "fromfile:pw", decodeBasic(PacsCredentials.resolve(file, env).header()));
        assertEquals("Bearer fromenv", PacsCredentials.resolve(null, env).header());
        assertEquals(
                "u:p",
                decodeBasic(PacsCredentials.resolve(null, Map.of(PacsCredentials.ENV, " basic u:p "))
                        .header()));
    }

    @Test
    void noFileAndNoVariableMeansNoCredentials() throws Exception {
        assertNull(PacsCredentials.resolve(null, Map.of()));
        assertNull(PacsCredentials.resolve(null, Map.of(PacsCredentials.ENV, "")));
        assertNull(PacsCredentials.resolve(null, Map.of(PacsCredentials.ENV, "  \n")));
        assertNull(PacsCredentials.resolve(null, Map.of("OTHER", "basic u:p")));
    }

    @Test
    void aBadVariableIsRefusedNamingTheVariable() {
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> PacsCredentials.resolve(null, Map.of(PacsCredentials.ENV, "basic nocolon")));
        assertTrue(e.getMessage().startsWith(PacsCredentials.ENV), e.getMessage());
    }

    @Test
    void aBadFileIsRefusedNamingTheFile() throws Exception {
        Path file = dir.resolve("auth.txt");
        Files.writeString(file, "bearer a b", StandardCharsets.UTF_8);
        MedsearchException e = assertThrows(MedsearchException.class, () -> PacsCredentials.resolve(file, Map.of()));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void anUnreadableFileIsAMedsearchExceptionNamingTheFile() throws Exception {
        Path missing = dir.resolve("no-such-auth");
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> PacsCredentials.resolve(missing, Map.of(PacsCredentials.ENV, "basic u:p")));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("cannot read"), e.getMessage());

        Path directory = Files.createDirectory(dir.resolve("a-directory"));
        MedsearchException d =
                assertThrows(MedsearchException.class, () -> PacsCredentials.resolve(directory, Map.of()));
        assertTrue(d.getMessage().contains(directory.toString()), d.getMessage());

        Path latin1 = dir.resolve("latin1");
        Files.write(latin1, new byte[] {'b', 'a', 's', 'i', 'c', ' ', 'u', ':', (byte) 0xE9});
        MedsearchException l = assertThrows(MedsearchException.class, () -> PacsCredentials.resolve(latin1, Map.of()));
        assertTrue(l.getMessage().contains(latin1.toString()), l.getMessage());
    }

    private static String message(String text) {
        return assertThrows(MedsearchException.class, () -> PacsCredentials.parse(text, "src"))
                .getMessage();
    }

    private static void assertSecretAbsent(String shown, String secret, String header) {
        assertFalse(shown.contains(secret), shown);
        if (!header.isEmpty()) {
            assertFalse(shown.contains(header.substring(header.indexOf(' ') + 1)), shown);
        }
    }

    private static String decodeBasic(String header) {
        assertTrue(header.startsWith("Basic "), header);
        return new String(Base64.getDecoder().decode(header.substring("Basic ".length())), StandardCharsets.UTF_8);
    }
}
