#!/usr/bin/env bash
# Remake docs/site-index.png, docs/site-post.png and docs/site-post-mobile.png from the bundled pages:
# reprocess examples/cna, build the site, serve it on loopback, screenshot it with headless Chromium.
# Needs jekyll, ruby-jekyll-feed, chromium and a CJK font (apt-get install fonts-noto-cjk).
# Offline, CNA's CDN images cannot load, so pictures show as their empty (correctly sized) box.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
python -m newsmirror reprocess examples/cna -o "$work/site" -q
python -m newsmirror site build -o "$work/site" -q
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python -m http.server "$port" --bind 127.0.0.1 --directory "$work/site/_site" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
shot() {  # NAME WIDTH HEIGHT PATH
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size="$2,$3" --screenshot="docs/$1.png" \
    "http://127.0.0.1:$port$4" 2>/dev/null
}
shot site-index 1100 960 /
shot site-post 1100 1300 /2023/09/11/cna-202309110310.html
shot site-post-mobile 390 844 /2013/08/13/cna-201308130021.html
ls -l docs/*.png
