#!/usr/bin/env bash
# The main job, end to end (run by `make demo`, which creates .venv first):
#   1. run the demo buildout online: it installs from PyPI into the download
#      cache, and the [private-index] part writes ./private-index;
#   2. empty the eggs directory and the download cache, cut the network, and
#      run it again: everything now comes from the private index.
set -euo pipefail
cd "$(dirname "$0")"
buildout=.venv/bin/buildout

rm -rf bin parts eggs develop-eggs downloads private-index .installed.cfg versions.cfg

echo "== 1. online run: populate the download cache and the private index"
"$buildout" -c buildout.cfg

echo
echo "== 2. offline run: eggs and download cache emptied, network cut,"
echo "      empty pip and uv caches, a clean HOME"
rm -rf eggs downloads
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
mkdir -p "$fresh/home" "$fresh/pip-cache" "$fresh/uv-cache"
export HOME="$fresh/home" PIP_CACHE_DIR="$fresh/pip-cache" UV_CACHE_DIR="$fresh/uv-cache"
if unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh \
        "$buildout" -c buildout.cfg | tee .demo-offline.log
    echo "(ran with no network: unshare -n)"
else
    "$buildout" -c buildout.cfg | tee .demo-offline.log
    echo "(unshare -n is not permitted here: the network was not cut)"
fi

echo
echo "== what was installed, and from where"
grep -E "installing only from|Installed from the private index|\] target " .demo-offline.log || true
bin/demo-python -c 'import docopt, tabulate; print("docopt", docopt.__version__, "from", docopt.__file__); print("tabulate", tabulate.__version__, "from", tabulate.__file__)'
echo "private index: $(pwd)/private-index/simple/ ($(find private-index/simple -mindepth 1 -maxdepth 1 -type d | wc -l) projects)"
