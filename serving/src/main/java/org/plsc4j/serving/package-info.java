/**
 * Serving exported models: {@link org.plsc4j.serving.EmbeddingServer}, an HTTP server (Netty) that
 * turns JPEG/PNG images into embeddings with dynamic batching, and
 * {@link org.plsc4j.serving.EmbeddingClient}, its Java client (PLSC's {@code FaceService}).
 */
package org.plsc4j.serving;
