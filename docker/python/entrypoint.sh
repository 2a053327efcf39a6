#!/bin/sh
# Compose runs the containers as the host's user, so what a notebook or a worker writes into
# labs/ and datasets/ stays the user's. That uid has no name in the image, and Java's login
# module (Spark, through Hadoop's UserGroupInformation) fails without one: give it one.
if ! whoami >/dev/null 2>&1; then
    echo "lab:x:$(id -u):$(id -g):scalelab:/tmp:/bin/sh" >> /etc/passwd
fi
# compose.yaml passes the sizes of .env through as ${VAR:-}: empty means unset to scalelab,
# but Spark's scripts would parse an empty SPARK_WORKER_CORES as a number. Drop empty ones.
for var in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=$/\1/p'); do unset "$var"; done
exec "$@"
