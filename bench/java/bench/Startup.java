package bench;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Start-up time of a broker: from launching its command to every given port accepting connections, several runs.
 * <pre>java bench.Startup --label NAME --ports 1883,9001 --runs 5 --log FILE -- COMMAND...</pre>
 * The last line of output is {@code RESULT {json}} with the median, min and max in milliseconds.
 */
public final class Startup {

    public static void main(String[] argv) throws Exception {
        int split = Arrays.asList(argv).indexOf("--");
        List<String> command = Arrays.asList(argv).subList(split + 1, argv.length);
        String label = "";
        int runs = 5;
        int[] ports = {};
        File log = new File("/dev/null");
        for (int i = 0; i + 1 < split; i += 2) {
            switch (argv[i]) {
                case "--label" -> label = argv[i + 1];
                case "--runs" -> runs = Integer.parseInt(argv[i + 1]);
                case "--ports" -> ports = Arrays.stream(argv[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--log" -> log = new File(argv[i + 1]);
                default -> throw new IllegalArgumentException(argv[i]);
            }
        }
        List<Double> times = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            long start = System.nanoTime();
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
            try {
                for (int port : ports) {
                    while (!accepts(port)) {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("exited with " + process.exitValue() + ", see " + log);
                        }
                        if (System.nanoTime() - start > 120_000_000_000L) {
                            throw new IllegalStateException("port " + port + " not accepting after 120 s");
                        }
                        Thread.sleep(2);
                    }
                }
                times.add((System.nanoTime() - start) / 1e6);
            } finally {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                }
            }
            System.out.printf(Locale.ROOT, "%s run %d: %.0f ms%n", label, run + 1, times.get(times.size() - 1));
        }
        times.sort(Double::compare);
        System.out.printf(Locale.ROOT, "RESULT {\"label\":\"%s\",\"startup_ms\":%.1f,\"startup_min_ms\":%.1f,\"startup_max_ms\":%.1f,\"runs\":%d}%n",
                label, times.get(times.size() / 2), times.get(0), times.get(times.size() - 1), runs);
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 100);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
