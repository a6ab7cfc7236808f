/** The worker process: collectives between processes and, later, the trainer. */
package org.plsc4j.worker;
