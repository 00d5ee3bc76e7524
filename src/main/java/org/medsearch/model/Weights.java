package org.medsearch.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a state dict from either weights format medsearch accepts, told apart by content, not by
 * file name: a {@code .pth} from {@code torch.save} is a ZIP archive ({@code PK\3\4}); a safetensors
 * file starts with an 8-byte header length followed by the header's {@code '{'}. This is what
 * {@code --init FILE} and anything else that takes "some weights" should call.
 *
 * <p>Contract: as {@link SafeTensors#read} and {@link PthReader#read}, whichever the content picks;
 * a file that is neither (an empty one included) is a {@link WeightsFormatException}.
 *
 * <pre>{@code
 * Map<String, Tensor> sd = Weights.read(Path.of("resnet18.pth")); // or a .safetensors, any name
 * ResNet18 net = ResNet18.fromStateDict(manager, sd, numClasses, seed);
 * }</pre>
 */
public final class Weights {

    /** The weights formats {@link #read} tells apart. */
    public enum Format {
        SAFETENSORS,
        /** {@code torch.save}'s ZIP archive; its legacy pickle stream is detected only to be refused. */
        PTH
    }

    private Weights() {}

    /** Every tensor of the state dict in {@code file}, in its order, whichever its format. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        return detect(file) == Format.PTH ? PthReader.read(file) : SafeTensors.read(file);
    }

    /**
     * The format of {@code file}, from its first nine bytes.
     *
     * @throws WeightsFormatException if it is neither format
     */
    public static Format detect(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(9);
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            return Format.PTH;
        }
        if (head.length == 9 && head[8] == '{') {
            return Format.SAFETENSORS;
        }
        // PROTO, a pickle stream: what torch < 1.6 wrote, which PthReader names in its refusal.
        // Checked last, as a safetensors header length may start with the same byte.
        if (head.length > 0 && (head[0] & 0xff) == 0x80) {
            return Format.PTH;
        }
        throw new WeightsFormatException(file
                + (head.length == 0
                        ? ": empty file, not a weights file"
                        : ": neither a safetensors file nor a .pth archive"));
    }
}
