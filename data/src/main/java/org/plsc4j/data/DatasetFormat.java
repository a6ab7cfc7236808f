package org.plsc4j.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** PLSC's two training-data layouts, named as in PLSC's {@code dataset_type}/{@code data_format}. */
public enum DatasetFormat {

    /** {@code dataset_dir/label.txt}: lines {@code images/00000000.jpg 0}, one image file per sample. */
    LABEL_TXT("label_txt"),

    /** {@code dataset_dir/file_list.txt} lists part files whose lines are {@code <base64 image>\t<label>}. */
    BASE64("base64");

    private final String id;

    DatasetFormat(String id) {
        this.id = id;
    }

    /** The name used on command lines and in configs. */
    public String id() {
        return id;
    }

    /** Parses {@code label_txt} or {@code base64} (case-insensitive). */
    public static DatasetFormat parse(String s) {
        for (DatasetFormat f : values()) {
            if (f.id.equals(s.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("format : " + s + " (expected: one of "
                + Arrays.stream(values()).map(DatasetFormat::id).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return id;
    }
}
