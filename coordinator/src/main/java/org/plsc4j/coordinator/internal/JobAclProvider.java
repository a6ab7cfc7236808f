package org.plsc4j.coordinator.internal;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.plsc4j.coordinator.JobPaths;

/**
 * ACLs for clients that authenticate with a digest: every job node belongs to the credentials
 * that created it ({@code CREATOR_ALL_ACL}, i.e. {@code digest:user:hash} with all permissions);
 * the shared parents {@code /plsc4j} and {@code /plsc4j/jobs} are readable and may get children
 * from anyone (other jobs, other credentials) but cannot be deleted or rewritten.
 */
public final class JobAclProvider implements ACLProvider {

    // spelled out rather than ZooDefs.Ids (whose class file trips javac's -Xlint:classfile)
    // (mutable-list types: ZooKeeper calls acl.contains(null), which List.of answers with an NPE)
    private static final List<ACL> PARENTS = Collections.unmodifiableList(Arrays.asList(
            new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.CREATE, new Id("world", "anyone"))));
    /** ZooDefs.Ids.CREATOR_ALL_ACL: all permissions for the creating client's authenticated ids. */
    private static final List<ACL> CREATOR_ALL = Collections.unmodifiableList(Arrays.asList(
            new ACL(ZooDefs.Perms.ALL, new Id("auth", ""))));

    @Override
    public List<ACL> getDefaultAcl() {
        return CREATOR_ALL;
    }

    @Override
    public List<ACL> getAclForPath(String path) {
        if ("/plsc4j".equals(path) || JobPaths.JOBS.equals(path)) {
            return PARENTS;
        }
        return CREATOR_ALL;
    }
}
