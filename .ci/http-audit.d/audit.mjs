// The graphql-http GraphQL-over-HTTP audit (https://github.com/graphql/graphql-http),
// run by ../http-audit against a running server: prints every result and exits 1 when
// any MUST or SHOULD audit is not ok (MAY audits are reported, never fatal).
//
//   node audit.mjs http://127.0.0.1:8080/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}

const results = await auditServer({ url });
if (results.length === 0) {
  console.error('FAIL: the audit returned no results');
  process.exit(1);
}

const counts = {};
const failed = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  let line = `${result.status.padEnd(6)} ${result.id}  ${result.name}`;
  if (result.status !== 'ok') {
    line += `\n         reason: ${result.reason}`;
    const response = result.response;
    if (response) {
      let body = '';
      try {
        body = await response.text();
      } catch {
        // the audit already read the body
      }
      const type = response.headers?.get('content-type') ?? '';
      line += `\n         response: ${response.status} ${type} ${body.slice(0, 300)}`;
    }
    if (/^(MUST|SHOULD) /.test(result.name)) failed.push(result);
  }
  console.log(line);
}

console.log(
  `\n${results.length} audits: ` +
    Object.entries(counts)
      .map(([status, n]) => `${n} ${status}`)
      .join(', '),
);
if (failed.length > 0) {
  console.error(`FAIL: ${failed.length} MUST/SHOULD audit(s) not ok: ${failed.map((r) => r.id).join(', ')}`);
  process.exit(1);
}
console.log('every MUST and SHOULD audit passed');
