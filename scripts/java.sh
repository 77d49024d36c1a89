#!/usr/bin/env bash
# Make sure a Java runtime (Debian's default-jre-headless, Java 17 on bookworm) is installed
# for the Spark linkage test (tests/spark), installing it if it is missing (as root, as CI
# runs). Idempotent. Prints the path of java.
set -euo pipefail

find_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || true
  fi
}

JAVA=$(find_java)
if [ -z "$JAVA" ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "java.sh: java is not installed and this is not root: install Debian's 'default-jre-headless'" >&2
    exit 1
  fi
  echo "java.sh: installing Debian's default-jre-headless" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
  JAVA=$(find_java)
fi

if [ -z "$JAVA" ]; then
  echo "java.sh: java is still missing after installing" >&2
  exit 1
fi
echo "$JAVA"
