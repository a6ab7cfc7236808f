/**
 * Checkpoints to and from HDFS, or any Hadoop {@code FileSystem} ({@code file://} needs no server):
 * {@link org.plsc4j.hdfs.HdfsSync} uploads a committed checkpoint into a hidden staging directory,
 * verifies every file against the checkpoint's manifest and publishes it with one rename; downloads
 * verify the same way, per file, and write the manifest last, so neither side ever shows a partial
 * checkpoint. {@link org.plsc4j.hdfs.CheckpointUploader} runs uploads in the background while training
 * goes on.
 */
package org.plsc4j.hdfs;
