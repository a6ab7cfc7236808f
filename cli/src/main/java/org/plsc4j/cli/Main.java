package org.plsc4j.cli;

/** Entry point of ./plsc4j (skeleton; filled in by the CLI work). */
public final class Main {
    private Main() {
    }

    /** Runs the command line. */
    public static void main(String[] args) {
        System.out.println("plsc4j");
    }
}
