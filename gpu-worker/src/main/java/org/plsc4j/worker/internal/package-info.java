/**
 * Implementation of the worker's collectives: the Netty ring transport ({@link
 * org.plsc4j.worker.internal.NettyCollective}) and its pieces (handshake, ring schedule, operation
 * state machine).
 */
package org.plsc4j.worker.internal;
