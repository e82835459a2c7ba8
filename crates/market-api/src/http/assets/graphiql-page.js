// Starts GraphiQL on the page served at `/` (crates/market-api/src/http/graphiql.rs). It lives in its own
// file, not inline, so the page's Content-Security-Policy can allow scripts from 'self'
// only. React, ReactDOM, GraphiQL and the Explorer plugin are the vendored UMD builds
// loaded before it (crates/market-api/src/http/assets/graphiql/).
(function () {
  'use strict';
  var container = document.getElementById('graphiql');
  var endpoint = container.getAttribute('data-endpoint') || '/graphql';

  var welcome = [
    '# Welcome to the Solidarity Market API.',
    '#',
    '# The Documentation Explorer (the book icon) lists every type and field with its',
    '# description; the Explorer (the compass) builds queries by clicking. In this',
    '# editor, Ctrl-Space autocompletes and Ctrl-Enter runs the query.',
    '#',
    '# The catalog needs no account. To act as a demo account (README.md), run',
    '#   mutation { login(input: { email: "manager@solidarity-market.ma",',
    '#                             password: "manager-demo-2026" }) { token } }',
    '# and put the token in the Headers tab below:',
    '#   { "Authorization": "Bearer <token>" }',
    '',
    '{',
    '  products(first: 5, sort: { field: PRICE, direction: ASC }) {',
    '    totalCount',
    '    nodes {',
    '      sku',
    '      name',
    '      format',
    '      price { amount currencyCode }',
    '      cooperative { name region { name } }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  var plugins = [];
  if (window.GraphiQLPluginExplorer) {
    plugins.push(window.GraphiQLPluginExplorer.explorerPlugin());
  }

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: endpoint }),
      defaultQuery: welcome,
      plugins: plugins,
      // Open the Documentation Explorer on arrival: the schema is the API's manual.
      visiblePlugin: 'Documentation Explorer',
      defaultEditorToolsVisibility: 'headers'
    })
  );
})();
