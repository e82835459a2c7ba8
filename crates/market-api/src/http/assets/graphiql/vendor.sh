#!/usr/bin/env bash
# Re-vendors the GraphiQL page's JavaScript and CSS from the npm registry into this
# folder: GraphiQL (its UMD build, which bundles CodeMirror and graphql-js), the React and
# ReactDOM it runs on, and the Explorer plugin. The files are embedded in the binary at
# build time (crates/market-api/src/http/graphiql.rs), so the page works with no internet at all.
#
#   bash crates/market-api/src/http/assets/graphiql/vendor.sh            # the pinned versions below
#   GRAPHIQL=3.9.0 bash crates/market-api/src/http/assets/graphiql/vendor.sh
#
# GraphiQL 3 is the last major release with a UMD build that runs without a bundler;
# React 18 is the last with UMD builds. VENDORED.md records what was copied, with the
# registry's integrity hashes and the licences (copied into licenses/).
set -euo pipefail

GRAPHIQL="${GRAPHIQL:-3.9.0}"
REACT="${REACT:-18.3.1}"
EXPLORER="${EXPLORER:-3.2.6}"
# Bundled inside the Explorer plugin's UMD build; fetched only for its licence.
GRAPHIQL_EXPLORER="${GRAPHIQL_EXPLORER:-0.9.0}"

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

packages=(
  "graphiql@$GRAPHIQL"
  "react@$REACT"
  "react-dom@$REACT"
  "@graphiql/plugin-explorer@$EXPLORER"
  "graphiql-explorer@$GRAPHIQL_EXPLORER"
)
# npm checks each tarball against the registry's integrity hash.
npm pack --json --silent "${packages[@]}" > packed.json
for tgz in *.tgz; do
  mkdir -p "unpacked/${tgz%.tgz}"
  tar xzf "$tgz" -C "unpacked/${tgz%.tgz}"
done
pkg() { echo "unpacked/$1/package"; }

# name in this folder <- file in a package. Source maps are not vendored, so their
# `sourceMappingURL` comments are dropped (a browser would ask for missing files).
copy() {
  sed -e 's#^//[#@] sourceMappingURL=.*$##' -e 's#/\*[#@] sourceMappingURL=[^*]*\*/##' "$2" > "$here/$1"
}
copy graphiql.min.js "$(pkg "graphiql-$GRAPHIQL")/graphiql.min.js"
copy graphiql.min.css "$(pkg "graphiql-$GRAPHIQL")/graphiql.min.css"
copy react.production.min.js "$(pkg "react-$REACT")/umd/react.production.min.js"
copy react-dom.production.min.js "$(pkg "react-dom-$REACT")/umd/react-dom.production.min.js"
copy plugin-explorer.umd.js "$(pkg "graphiql-plugin-explorer-$EXPLORER")/dist/index.umd.js"
copy plugin-explorer.css "$(pkg "graphiql-plugin-explorer-$EXPLORER")/dist/style.css"

mkdir -p "$here/licenses"
cp "$(pkg "graphiql-$GRAPHIQL")/LICENSE" "$here/licenses/graphiql.LICENSE"
cp "$(pkg "react-$REACT")/LICENSE" "$here/licenses/react.LICENSE"
cp "$(pkg "react-dom-$REACT")/LICENSE" "$here/licenses/react-dom.LICENSE"
cp "$(pkg "graphiql-explorer-$GRAPHIQL_EXPLORER")/LICENSE" "$here/licenses/graphiql-explorer.LICENSE"
# @graphiql/plugin-explorer ships no LICENSE file; it is MIT like the rest of the
# graphql/graphiql monorepo, whose licence (the same text as GraphiQL's) applies.
cp "$(pkg "graphiql-$GRAPHIQL")/LICENSE" "$here/licenses/graphiql-plugin-explorer.LICENSE"

{
  echo "# Vendored GraphiQL"
  echo
  echo "Written by \`vendor.sh\` from the npm registry; do not edit by hand."
  echo "The files are embedded in the binary and served under \`/graphiql/\` (crates/market-api/src/http/graphiql.rs)."
  echo
  echo "| package | version | licence | registry integrity |"
  echo "|---|---|---|---|"
  node -e '
    const packed = require("./packed.json");
    for (const p of packed) {
      const meta = require("./unpacked/" + p.filename.replace(/\.tgz$/, "") + "/package/package.json");
      console.log(`| \`${p.name}\` | ${p.version} | ${meta.license} | \`${p.integrity}\` |`);
    }'
  echo
  echo "| file | from | sha256 |"
  echo "|---|---|---|"
  for f in graphiql.min.js:graphiql/graphiql.min.js graphiql.min.css:graphiql/graphiql.min.css \
           react.production.min.js:react/umd/react.production.min.js \
           react-dom.production.min.js:react-dom/umd/react-dom.production.min.js \
           plugin-explorer.umd.js:@graphiql/plugin-explorer/dist/index.umd.js \
           plugin-explorer.css:@graphiql/plugin-explorer/dist/style.css; do
    name="${f%%:*}"
    echo "| \`$name\` | \`${f#*:}\` | \`$(sha256sum "$here/$name" | cut -c1-64)\` |"
  done
  echo
  echo "GraphiQL's bundle includes @graphiql/react, CodeMirror 5 and graphql-js (all MIT);"
  echo "the Explorer plugin's bundle includes graphiql-explorer (MIT). Licences: \`licenses/\`."
} > "$here/VENDORED.md"
echo "vendored into $here:"
ls -l "$here"
