package org.plsc4j.data.internal;

import java.nio.charset.StandardCharsets;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.Unpickler;

/**
 * Just enough of numpy for Pyrolite to read the {@code numpy.bool_} values some insightface
 * {@code .bin} files contain in their issame list. Such a value is pickled as
 * {@code numpy.core.multiarray.scalar(numpy.dtype('b1', False, True) + BUILD state, b'\x01')}
 * ({@code numpy._core.multiarray} since numpy 2); the data is a Python-2 {@code str} (a Java
 * String) or {@code bytes}.
 */
public final class NumpyPickles {

    private static volatile boolean registered;

    private NumpyPickles() {
    }

    /** Registers the constructors with Pyrolite (a process-wide table); idempotent. */
    public static void register() {
        if (registered) {
            return;
        }
        synchronized (NumpyPickles.class) {
            if (!registered) {
                Unpickler.registerConstructor("numpy", "dtype", args -> new Dtype(String.valueOf(args[0])));
                IObjectConstructor scalar = NumpyPickles::scalar;
                Unpickler.registerConstructor("numpy.core.multiarray", "scalar", scalar);
                Unpickler.registerConstructor("numpy._core.multiarray", "scalar", scalar);
                registered = true;
            }
        }
    }

    /** A numpy dtype as far as needed here: its name ({@code 'b1'}); BUILD's state is accepted and ignored. */
    public static final class Dtype {
        private final String name;

        Dtype(String name) {
            this.name = name;
        }

        /** The dtype name, e.g. {@code b1}. */
        public String name() {
            return name;
        }

        /** Called by Pyrolite's BUILD with numpy's state tuple (version, byte order, ...); nothing to keep. */
        public void __setstate__(Object[] state) {
            // the byte order and flags do not matter for a one-byte bool
        }

        @Override
        public String toString() {
            return "dtype('" + name + "')";
        }
    }

    private static Object scalar(Object[] args) {
        if (args.length != 2 || !(args[0] instanceof Dtype dtype)) {
            throw new PickleException("numpy scalar : " + args.length + " arguments (expected: (dtype, data))");
        }
        byte[] data;
        if (args[1] instanceof byte[] b) {
            data = b;
        } else if (args[1] instanceof String s) {
            data = s.getBytes(StandardCharsets.ISO_8859_1);
        } else {
            throw new PickleException("numpy scalar data : " + (args[1] == null ? "None" : args[1].getClass().getName())
                    + " (expected: bytes or str)");
        }
        if (!("b1".equals(dtype.name()) || "bool".equals(dtype.name())) || data.length != 1) {
            throw new PickleException("numpy scalar : " + dtype + " with " + data.length
                    + " bytes (expected: a bool, dtype('b1') with 1 byte)");
        }
        return data[0] != 0;
    }
}
