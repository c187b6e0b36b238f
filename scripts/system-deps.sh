#!/usr/bin/env bash
# System packages the project needs on Debian/Ubuntu beyond Python itself.
#
#   scripts/system-deps.sh check            print what is missing and the apt command; exit 1 if any
#   scripts/system-deps.sh install          as root: apt-get install only what is missing
#                                           (PDF libraries and fonts, chromium for browser tests)
#   scripts/system-deps.sh install --ci     also PostgreSQL and Redis, which CI tests against
#
# Checking uses dpkg-query and makes no network access, so it is fast when all is installed.
set -euo pipefail

# WeasyPrint 70 loads Pango, PangoFT2 and HarfBuzz-subset through ctypes/cffi (its "Debian >= 11"
# install notes); without harfbuzz-subset it emits a warning at import, which the test suite's
# filterwarnings=error turns into failures. Noto covers Latin, Cyrillic, Greek (core) and
# Chinese/Japanese/Korean (cjk) so notices render whatever the recipient's language.
RUNTIME_PACKAGES=(
    libpango-1.0-0
    libpangoft2-1.0-0
    libharfbuzz-subset0
    fonts-noto-core
    fonts-noto-cjk
)
# The real-browser tests (pytest -m browser) drive Debian's chromium through Playwright: the
# browser download of Playwright itself cannot reach its CDN here, and Debian's build gets
# security updates with the system. fonts-liberation gives pages the metric-compatible Arial/
# Times the screenshots are meant to be read with. Without chromium those tests skip.
TEST_PACKAGES=(
    chromium
    fonts-liberation
    # msgfmt: the test that the committed locale/*/django.mo matches its .po (and
    # `manage.py compilemessages` after editing translations). Runtime needs only the .mo.
    gettext
    # The reply mailbox of the tests and the sandbox: a real IMAP server on loopback, run from
    # a generated configuration (takedown/sandbox/imap.py); the system's own dovecot service is
    # not used.
    dovecot-imapd
    # npm: installs axe-core (tests/js/package-lock.json), the accessibility checker the browser
    # tests inject into every page. Debian's npm brings nodejs with it.
    npm
)
CI_PACKAGES=(
    postgresql
    redis-server
)

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_from() {
    local package
    for package in "$@"; do
        # Node from another source (nodesource's nodejs bundles npm) serves as well as Debian's.
        if [ "$package" = npm ] && command -v npm >/dev/null 2>&1; then
            continue
        fi
        installed "$package" || echo "$package"
    done
}

mode=${1:-check}
packages=("${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
if [ "${2:-}" = "--ci" ]; then
    packages+=("${CI_PACKAGES[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: not a Debian-like system; install Pango >= 1.44, HarfBuzz (with subset)" \
        "and Noto fonts with your package manager for PDF notices." >&2
    exit 0
fi

mapfile -t missing < <(missing_from "${packages[@]}")
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo "
fi

case "$mode" in
check)
    if [ "${#missing[@]}" -eq 0 ]; then
        exit 0
    fi
    echo "system-deps: missing system packages: ${missing[*]}" >&2
    echo "system-deps: install them with:" >&2
    echo "    ${sudo}apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
    ;;
install)
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "system-deps: all present (${packages[*]})"
        exit 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "system-deps: need root to install: ${missing[*]}" >&2
        echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "system-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    ;;
*)
    echo "usage: $0 check|install [--ci]" >&2
    exit 2
    ;;
esac
