/**
 * The NCCL {@link org.plsc4j.core.collective.Collective} for GPU workers (module built only with -Pcuda).
 */
package org.plsc4j.nccl;
