#!/bin/sh
# Installs Debian's Chromium for the service's browser test (tests/test_service_browser.py).
# Idempotent and quick when it is already there; as root (CI) it installs, otherwise it only
# says what is missing, and the browser test then skips with that reason.
set -u
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-browser.sh: /usr/bin/chromium is missing and this is not root; the browser test will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "install-browser.sh: apt-get could not install chromium; the browser test will skip" >&2
exit 0
