/** Implementation of the embedding server: HTTP handling, batching, image decoding, metrics. */
package org.plsc4j.serving.internal;
