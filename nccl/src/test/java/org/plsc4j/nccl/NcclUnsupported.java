package org.plsc4j.nccl;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Marks a test that NCCL cannot pass, with the reason (reported as skipped). */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface NcclUnsupported {
    /** Why. */
    String value();
}
