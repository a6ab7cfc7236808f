package org.plsc4j.data.internal;

import java.util.stream.IntStream;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.BadSampleLog;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.ImagePreprocessor;

/** The {@code validateImages} pass: decode every sample once (in parallel), in index order report or drop failures. */
final class ImageValidation {

    private ImageValidation() {
    }

    /**
     * The indices of {@code d} whose image can be read and decoded.
     *
     * @throws BadDataException the first (lowest index) failure, unless {@code skip}; then failures are logged to {@code log}
     */
    static int[] decodable(Dataset d, boolean skip, BadSampleLog log) {
        BadDataException[] errors = new BadDataException[d.size()];
        IntStream.range(0, d.size()).parallel().forEach(i -> {
            try {
                ImagePreprocessor.decode(d.encoded(i), d.source(i));
            } catch (BadDataException e) {
                errors[i] = e;
            }
        });
        IntList kept = new IntList();
        for (int i = 0; i < errors.length; i++) {
            if (errors[i] == null) {
                kept.add(i);
            } else if (!skip) {
                throw errors[i];
            } else {
                log.skipped(errors[i]);
            }
        }
        return kept.toArray();
    }
}
