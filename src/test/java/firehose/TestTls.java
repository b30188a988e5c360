package firehose;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/** A self-signed keystore for localhost, made with keytool exactly as the README tells operators to. */
public final class TestTls {

    public static final String PASSWORD = "keystore-secret-5531";

    private static Path keystore;
    private static Path certificate;

    private TestTls() {
    }

    public static synchronized Path keystore() {
        if (keystore == null) {
            try {
                Path dir = Files.createTempDirectory("firehose-tls");
                Path store = dir.resolve("firehose.p12");
                Path pem = dir.resolve("firehose.pem");
                // removed when the test JVM exits, in the reverse order: the files, then the directory
                dir.toFile().deleteOnExit();
                store.toFile().deleteOnExit();
                pem.toFile().deleteOnExit();
                run(List.of(keytool(), "-genkeypair", "-alias", "firehose", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-validity", "30", "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1",
                        "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", PASSWORD));
                run(List.of(keytool(), "-exportcert", "-rfc", "-alias", "firehose", "-keystore", store.toString(),
                        "-storepass", PASSWORD, "-file", pem.toString()));
                keystore = store;
                certificate = pem;
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("keytool failed", e);
            }
        }
        return keystore;
    }

    /** The server certificate in PEM, for {@code mosquitto_sub --cafile}. */
    public static Path certificate() {
        keystore();
        return certificate;
    }

    /** A socket factory that trusts exactly the test certificate. */
    public static SSLSocketFactory socketFactory() {
        try (InputStream in = Files.newInputStream(keystore())) {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(in, PASSWORD.toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            return ssl.getSocketFactory();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String keytool() {
        return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(command.get(1) + " failed: " + out);
        }
    }
}
