/** The {@code plsc4j hdfs push|pull} commands. */
package org.plsc4j.hdfs.cli;
