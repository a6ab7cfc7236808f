package org.plsc4j.cli;

import org.plsc4j.core.NativeBuild;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.plsc4j.bench.BenchCommand;
import org.plsc4j.data.cli.GenDataCommand;
import org.plsc4j.data.cli.PreprocessBase64Command;
import org.plsc4j.checkpoint.cli.ReshardCommand;
import org.plsc4j.serving.cli.ServeCommand;
import org.plsc4j.hdfs.cli.HdfsCommand;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.RunLast;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Entry point of {@code ./plsc4j}: the picocli command tree and its error contract.
 *
 * <p>Why one place for this: every subcommand (bench now; train, demo, ... later) gets the same
 * behaviour for free. A subcommand is added by listing its class in {@code subcommands}. Exit codes:
 * 0 success, 2 usage error (bad option or value; the message names the option and what was expected),
 * 1 failure (one line on stderr; the stack trace only with {@code -v}/{@code --verbose} or the
 * environment variable {@code PLSC4J_DEBUG=1}). Results go to stdout, logs and errors to stderr.
 */
@Command(name = "plsc4j",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Sharded margin-softmax (Partial FC) training for millions of classes on the JVM.",
        subcommands = {
            BenchCommand.class,
            TrainCommand.class,
            CoordinatorCommand.class,
            DashboardCommand.class,
            WorkerCommand.class,
            TestCommand.class,
            ExportCommand.class,
            DemoCommand.class,
            GenDataCommand.class,
            PreprocessBase64Command.class,
            ReshardCommand.class,
            ServeCommand.class,
            HdfsCommand.class,
            HelpCommand.class,
        })
public final class Main {

    /** Environment variable that turns on stack traces like {@code --verbose}. */
    public static final String DEBUG_ENV = "PLSC4J_DEBUG";

    /** Exit code of a failed command. */
    public static final int EXIT_FAILURE = 1;

    /** Exit code of a usage error (picocli's default). */
    public static final int EXIT_USAGE = 2;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Print stack traces of failures and DEBUG logs of plsc4j.")
    boolean verbose;

    private Main() {
    }

    /** Runs the command line and exits with its exit code. */
    public static void main(String[] args) {
        boolean debug = "1".equals(System.getenv(DEBUG_ENV));
        // stdout carries results only: libraries that print (SameDiff announces every differentiated op
        // on System.out) are sent to stderr, the commands keep the real stdout
        PrintStream results = System.out;
        System.setOut(System.err);
        int code;
        try {
            // before anything loads ND4J: JavaCPP reads the build once (README: native builds)
            NativeBuild.select();
            CommandLine cl = newCommandLine(debug);
            cl.setOut(new PrintWriter(new OutputStreamWriter(results, StandardCharsets.UTF_8), true));
            code = cl.execute(args);
        } catch (IllegalArgumentException e) { // a PLSC4J_ND4J_BUILD this machine cannot run
            System.err.println("plsc4j: " + oneLine(e));
            code = EXIT_FAILURE;
        } catch (Error e) { // picocli handles Exceptions; OutOfMemoryError & co. get the same one-line treatment
            boolean trace = debug || Arrays.asList(args).contains("-v") || Arrays.asList(args).contains("--verbose");
            PrintWriter err = new PrintWriter(System.err, true);
            err.println("plsc4j: " + oneLine(e));
            if (trace) {
                e.printStackTrace(err);
            }
            err.flush();
            code = EXIT_FAILURE;
        }
        System.exit(code);
    }

    /** The configured command line; {@code debug} forces stack traces as {@code PLSC4J_DEBUG=1} does. */
    public static CommandLine newCommandLine(boolean debug) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionStrategy(parseResult -> {
            if (verbose(parseResult)) {
                enableDebugLogging();
            }
            return new RunLast().execute(parseResult);
        });
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            err.println(cmd.getCommandSpec().qualifiedName() + ": " + oneLine(ex));
            if (debug || verbose(parseResult)) {
                ex.printStackTrace(err);
            }
            err.flush();
            return EXIT_FAILURE;
        });
        return cl;
    }

    /** Usage errors: the message, suggestions for typos, where to find help; the usage itself when a subcommand is missing. */
    private static int usageError(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        err.println(name + ": " + ex.getMessage());
        if (!UnmatchedArgumentException.printSuggestions(ex, err)
                && !cmd.getSubcommands().isEmpty() && !cmd.getParseResult().hasSubcommand()) {
            err.println();
            cmd.usage(err);
        } else {
            err.println("Try '" + name + " --help' for more information.");
        }
        err.flush();
        return EXIT_USAGE;
    }

    /** Whether {@code -v}/{@code --verbose} was given on any command of the chain. */
    static boolean verbose(ParseResult parseResult) {
        for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /**
     * One line describing a failure: wrappers without information of their own are unwrapped; the
     * project's validation exceptions (IllegalArgument/IllegalState) already read as
     * "field : value (expected: ...)" and are printed as they are; anything else is prefixed with its
     * type so that e.g. an UnsupportedOperationException is recognisable.
     */
    static String oneLine(Throwable t) {
        Throwable e = t;
        while ((e instanceof ExecutionException || e instanceof CompletionException
                || e instanceof InvocationTargetException || e instanceof UndeclaredThrowableException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        String m = e.getMessage();
        String first = m == null ? "" : m.strip().lines().findFirst().orElse("");
        if (first.isEmpty()) {
            return e.getClass().getName();
        }
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
            return first;
        }
        return e.getClass().getSimpleName() + ": " + first;
    }

    private static void enableDebugLogging() {
        if (LoggerFactory.getLogger("org.plsc4j") instanceof ch.qos.logback.classic.Logger logger) {
            logger.setLevel(ch.qos.logback.classic.Level.DEBUG);
        }
    }

    /** The plsc4j version: the jar manifest's Implementation-Version, else the filtered version.properties. */
    public static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code --version}: plsc4j's version and the JVM it runs on. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "plsc4j " + version(),
                "JVM: ${java.version} (${java.vendor} ${java.vm.name} ${java.vm.version})",
                "OS: ${os.name} ${os.version} ${os.arch}",
            };
        }
    }
}
