package org.plsc4j.serving;

import java.io.IOException;
import java.nio.file.Path;

/** {@link TinyExport} for tests in other packages. */
public final class TinyExportAccess {

    private TinyExportAccess() {
    }

    /** Writes the tiny export into {@code dir}. */
    public static Path write(Path dir) throws IOException {
        return TinyExport.write(dir, 7);
    }
}
