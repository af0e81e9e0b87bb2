#!/usr/bin/env bash
# Debian packages the browser tests and figure export need (Chromium). Installed only as root;
# otherwise the tests that need them skip with a message naming the package.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null || echo "warning: could not install chromium; browser tests will skip"
else
  echo "note: not root; install Debian 'chromium' yourself or browser tests will skip"
fi
exit 0
