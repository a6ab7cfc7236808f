/** Implementation of hdfs-sync: connecting with Hadoop's configuration and credentials, retries, verified copies. */
package org.plsc4j.hdfs.internal;
