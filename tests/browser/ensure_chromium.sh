#!/bin/sh
# The browser tests (tests/browser/) drive Debian's chromium: install it when it is missing, with a Chinese font
# (the screenshots of docs/console/ are of Chinese pages). Where it cannot be installed (no apt-get, not root) the
# browser tests skip, except under CI=true, where this fails.
set -e
CHROMIUM=${YIBAO_CHROMIUM:-/usr/bin/chromium}
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
[ -x "$CHROMIUM" ] && [ -e "$FONT" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing chromium and a Chinese font for the browser tests (apt-get install -y chromium fonts-wqy-microhei)"
    apt-get install -y chromium fonts-wqy-microhei >/dev/null || { apt-get update >/dev/null &&
        apt-get install -y chromium fonts-wqy-microhei >/dev/null; }
    exit 0
fi
[ -x "$CHROMIUM" ] && exit 0
case "${CI:-}" in
    1|true|yes) echo "chromium is missing at $CHROMIUM and cannot be installed here (CI)" >&2; exit 1 ;;
    *) echo "chromium is missing at $CHROMIUM: the browser tests will be skipped" >&2 ;;
esac
