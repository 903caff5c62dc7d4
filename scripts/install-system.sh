#!/bin/sh
# Installs the Debian programs some tests and features use: Chromium (the service's browser
# test), Graphviz's dot (explanation graphs as SVG: /v1/explain format svg, --format svg,
# --graph g.svg) and, with INSTALL_LATEX=1, pdfLaTeX (the test that compiles a LaTeX
# explanation; off by default: texlive-latex-base takes about 3 minutes to install, a fifth
# of CI's budget, for one test whose structural checks run anyway).
# Idempotent and quick when they are there; as root (CI) it installs what is missing with
# apt-get, otherwise it only says what is missing, and the tests needing it then skip with
# that reason.
set -u
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
if [ "${INSTALL_LATEX:-0}" = "1" ]; then
    command -v pdflatex >/dev/null 2>&1 || missing="$missing texlive-latex-base"
fi
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-system.sh: missing:$missing (not root, so not installed); the tests" \
        "needing them will skip, saying why" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # the package names are meant to split
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || echo "install-system.sh: apt-get could not install$missing; the tests needing" \
        "them will skip, saying why" >&2
exit 0
