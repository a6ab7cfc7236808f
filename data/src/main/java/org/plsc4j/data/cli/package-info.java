/** The {@code plsc4j gen-data} command. */
package org.plsc4j.data.cli;
