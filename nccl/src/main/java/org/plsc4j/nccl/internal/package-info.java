/** NCCL calls on ND4J CUDA buffers; loaded only when a CUDA worker joins an "nccl" group. */
package org.plsc4j.nccl.internal;
