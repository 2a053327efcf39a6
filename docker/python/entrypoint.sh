#!/bin/sh
# Compose runs the containers as the host's user, so what a notebook or a worker writes into
# labs/ and datasets/ stays the user's. That uid may have no name in the image, and Java's login
# module (Spark, through Hadoop's UserGroupInformation) fails without one. /etc/passwd stays
# read-only: nss_wrapper answers for a copy with the uid added, in this container's /tmp, for this
# process and its children (LD_PRELOAD); getpass in a `docker exec` reads USER.
if ! whoami >/dev/null 2>&1; then
    passwd=$(mktemp /tmp/passwd.XXXXXX)
    cat /etc/passwd > "$passwd"
    echo "scalelab:x:$(id -u):$(id -g):scalelab:/tmp:/bin/sh" >> "$passwd"
    export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$passwd" NSS_WRAPPER_GROUP=/etc/group
    export USER=scalelab LOGNAME=scalelab
fi
# compose.yaml passes the sizes of .env through as ${VAR:-}: empty means unset to scalelab,
# but Spark's scripts would parse an empty SPARK_WORKER_CORES as a number. Drop empty ones.
for var in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=$/\1/p'); do unset "$var"; done
exec "$@"
