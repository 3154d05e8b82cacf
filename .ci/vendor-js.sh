#!/usr/bin/env bash
# Re-create book/_vendor/ from the npm registry at pinned versions.
# The site serves these files itself so that math and widgets render with no network.
# Run by hand when bumping a version; the result is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=3.2.2 REQUIREJS=2.3.4 HTMLMANAGER=1.0.15
out=book/_vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$MATHJAX" "requirejs@$REQUIREJS" \
    "@jupyter-widgets/html-manager@$HTMLMANAGER" >/dev/null)
for f in "$tmp"/*.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
rm -rf "$out"/mathjax "$out"/requirejs "$out"/html-manager "$out"/@jupyter-widgets
# html-manager finds its icon fonts at <data-jupyter-widgets-cdn>/@jupyter-widgets/html-manager/dist/
hmout="$out/@jupyter-widgets/html-manager/dist"
mkdir -p "$out"/mathjax/output/chtml/fonts "$out"/requirejs "$hmout"
mj="$tmp/mathjax-$MATHJAX/package"
cp "$mj/LICENSE" "$mj/es5/tex-mml-chtml.js" "$out/mathjax/"
cp -r "$mj/es5/input" "$mj/es5/ui" "$mj/es5/a11y" "$mj/es5/adaptors" "$out/mathjax/"
cp -r "$mj/es5/output/chtml/fonts/woff-v2" "$out/mathjax/output/chtml/fonts/"
rj="$tmp/requirejs-$REQUIREJS/package"
cp "$rj/require.js" "$rj/package.json" "$out/requirejs/"  # MIT; the licence header is in require.js
hm="$tmp/jupyter-widgets-html-manager-$HTMLMANAGER/package"
# 1.0.15 ships no LICENSE file; its package.json states the licence (BSD-3-Clause).
cp "$hm/package.json" "$hmout/"
# embed-amd.js (1.0.15 has no lazily loaded chunks), its licence notice and the icon fonts it
# references (without them the pages request fonts that 404; browsers never ask for eot/svg).
(cd "$hm/dist" && cp embed-amd.js embed.js.LICENSE.txt ./*.woff ./*.woff2 ./*.ttf \
    "$OLDPWD/$hmout/")
echo "vendored into $out: $(du -sh "$out" | cut -f1)"
