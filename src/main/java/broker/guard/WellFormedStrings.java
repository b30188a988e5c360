package broker.guard;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DuplicatedByteBuf;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.mqtt.MqttDecoder;

/**
 * Ill-formed UTF-8 is refused where Netty's MQTT decoder reads a string (a topic, a filter, the client id, the will
 * topic, the user name, an MQTT 5 property), from the bytes themselves. The decoder decodes each string with Java's
 * replacing decoder, which turns ill-formed bytes into U+FFFD: looking for U+FFFD in the decoded text afterwards
 * refused clients whose topics held that character, which is well-formed UTF-8 (EF BF BD) and allowed (MQTT 3.1.1
 * §1.5.3 and MQTT 5 §1.5.4 forbid U+0000 and ill-formed UTF-8, surrogates included, not U+FFFD).
 * <p>
 * The decoder's strings are read from its cumulation buffer ({@code ByteBuf.toString(index, length, UTF_8)}): each
 * cumulation it is handed (by {@link #install}'s cumulator, Netty's own merging one, which it wraps) is a duplicate of
 * the buffer that decodes UTF-8 strings with a decoder that reports ill-formed input, and the decoder turns what is
 * thrown into a failed packet ({@link IllFormed}), which {@link MalformedInput} refuses as an invalid string. The
 * duplicate shares the buffer's bytes and reference count; one small object per read is its cost.
 */
final class WellFormedStrings {

    private static final ThreadLocal<CharsetDecoder> STRICT = ThreadLocal.withInitial(() -> StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));

    private static final ByteToMessageDecoder.Cumulator CUMULATOR = (alloc, cumulation, in) -> {
        ByteBuf merged = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, cumulation, in);
        return merged instanceof Checked ? merged : new Checked(merged);
    };

    private WellFormedStrings() {
    }

    /** The connection's MQTT decoder reads its strings strictly from now on. */
    static void install(ChannelPipeline pipeline) {
        pipeline.get(MqttDecoder.class).setCumulator(CUMULATOR);
    }

    /** What the MQTT decoder failed on: a string that is not well-formed UTF-8. */
    static final class IllFormed extends DecoderException {
        IllFormed(String message) {
            super(message);
        }
    }

    /** The cumulation, decoding UTF-8 strictly. */
    @SuppressWarnings("deprecation") // DuplicatedByteBuf: the one public buffer a class outside Netty can extend to share a buffer
    static final class Checked extends DuplicatedByteBuf {

        Checked(ByteBuf buffer) {
            super(buffer);
        }

        @Override
        public String toString(int index, int length, Charset charset) {
            if (!StandardCharsets.UTF_8.equals(charset)) {
                return super.toString(index, length, charset);
            }
            ByteBuffer bytes = nioBuffer(index, length);
            try {
                return STRICT.get().reset().decode(bytes).toString();
            } catch (CharacterCodingException e) {
                throw new IllFormed("a string of " + length + " bytes is not well-formed UTF-8");
            }
        }

        @Override
        public String toString(Charset charset) {
            return toString(readerIndex(), readableBytes(), charset);
        }
    }
}
