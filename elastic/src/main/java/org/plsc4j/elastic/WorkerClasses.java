package org.plsc4j.elastic;

/** Instantiates user classes named on a worker's command line (PLSC's set_model / set_optimizer). */
final class WorkerClasses {

    private WorkerClasses() {
    }

    /** An instance of {@code className} (public, no-argument constructor) as a {@code type}, or null. */
    static <T> T instantiate(String className, Class<T> type) throws ReflectiveOperationException {
        if (className == null) {
            return null;
        }
        Class<?> c = Class.forName(className);
        if (!type.isAssignableFrom(c)) {
            throw new IllegalArgumentException("class : " + className + " (expected: an implementation of "
                    + type.getName() + ")");
        }
        return type.cast(c.getConstructor().newInstance());
    }
}
