package org.plsc4j.data;

import java.nio.file.Path;

/** Child JVM of {@link Base64PreprocessorHeapTest}: runs the tool with the default (heap-derived) budget. */
public final class PreprocessMain {

    private PreprocessMain() {
    }

    public static void main(String[] args) throws Exception {
        Base64Preprocessor.Result r = Base64Preprocessor.run(Base64Preprocessor.Options.builder()
                .dataDir(Path.of(args[0])).outDir(Path.of(args[1])).nranks(Integer.parseInt(args[2]))
                .seed(Long.parseLong(args[3])).build());
        System.out.println(r.buckets() + " " + r.lines() + " " + r.padding() + " " + r.linesPerFile()
                + " " + Runtime.getRuntime().maxMemory());
    }
}
