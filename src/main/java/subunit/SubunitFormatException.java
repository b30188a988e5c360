package subunit;

import java.io.IOException;

/** The input is not a whole, well-formed subunit v2 stream; the message says where and why. */
public class SubunitFormatException extends IOException {

    public SubunitFormatException(String message) {
        super(message);
    }

    public SubunitFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
