/** Implementation of the checkpoint module: JSON codec, sidecars, hashing, durable file operations. */
package org.plsc4j.checkpoint.internal;
