package org.plsc4j.hdfs;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** One real HDFS (namenode + datanodes on 127.0.0.1) per test class, under a temporary base directory. */
final class MiniHdfs implements AutoCloseable {

    final MiniDFSCluster cluster;

    MiniHdfs(Path baseDir, int dataNodes) throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.toAbsolutePath().toString());
        conf.set("dfs.replication", Integer.toString(dataNodes));
        conf.setInt("dfs.client.block.write.retries", 1);
        cluster = new MiniDFSCluster.Builder(conf, baseDir.toFile()).numDataNodes(dataNodes).build();
        cluster.waitActive();
        // tests connect as a simple-auth user (fs_ugi), not as the superuser that formatted the cluster
        cluster.getFileSystem().setPermission(new org.apache.hadoop.fs.Path("/"),
                new org.apache.hadoop.fs.permission.FsPermission((short) 0777));
    }

    /** hdfs://127.0.0.1:port */
    String uri() {
        return cluster.getURI().toString();
    }

    @Override
    public void close() {
        cluster.shutdown(true);
    }
}
