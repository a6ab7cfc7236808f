package org.plsc4j.worker;

/**
 * Makes a custom {@link BaseModel} available by name, so that a configuration file or the command
 * line can say {@code model_name = MyNet} as it says {@code ResNet50}. Implementations are found
 * with {@link java.util.ServiceLoader} (a {@code META-INF/services/org.plsc4j.worker.ModelProvider}
 * entry); the built-in names cannot be overridden.
 */
public interface ModelProvider {

    /** The model_name this provider answers to. */
    String name();

    /** A new instance of the model. */
    BaseModel create();
}
