#!/bin/bash
# Throw-away harness of issue 12 (the official command is `./plsc4j bench backbone`, branch backbone-infra).
# javac -cp "$CP" tools/Bench.java -d /tmp/bb && BENCH_DIR=/tmp/bb CP=... tools/alternate-backbone-bench.sh train 16 3 1
# usage: alt.sh mode batch steps rounds  -> alternates PyTorch mirror and the plsc4j engine
mode=$1; batch=$2; steps=$3; rounds=$4; engine=${5:-native}
CP="${CP:?class path of gpu-worker with the nd4j-native linux-x86_64-onednn-avx512 jar}:${BENCH_DIR:-.}"
for r in $(seq 1 $rounds); do
  echo "# round $r load $(cut -d' ' -f1 /proc/loadavg)"
  OMP_NUM_THREADS=2 /usr/bin/python3 /work/wt/backbone-engine/tools/iresnet_torch.py --mode $mode --batch $batch --steps $steps
  OMP_NUM_THREADS=2 java -Xmx2g -Dplsc4j.backbone.engine=$engine -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx512 -Dorg.bytedeco.javacpp.maxbytes=12G -Dorg.bytedeco.javacpp.maxphysicalbytes=14G -cp "$CP" Bench $mode $batch $steps 2>/dev/null | grep engine
done
