/** Implementation details of the coordinator (JSON codecs, ACLs, the membership rule); not a public API. */
package org.plsc4j.coordinator.internal;
