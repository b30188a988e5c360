// Parses an AsyncAPI document with AsyncAPI's reference parser (@asyncapi/parser) and prints every diagnostic.
// Usage: node validate-asyncapi.js <npm tools dir> <document>
// Exit code: 0 valid, 1 a diagnostic of severity error (or no document), 2 the parser is not installed.
'use strict';
const fs = require('fs');
const path = require('path');

const [toolsDir, file] = process.argv.slice(2);
let parserModule;
try {
  parserModule = require(path.join(toolsDir, 'node_modules', '@asyncapi', 'parser'));
} catch (e) {
  console.error(`@asyncapi/parser is not installed in ${toolsDir}: ${e.message}`);
  process.exit(2);
}
const version = require(path.join(toolsDir, 'node_modules', '@asyncapi', 'parser', 'package.json')).version;
const severities = ['error', 'warning', 'info', 'hint'];

(async () => {
  const parser = new parserModule.Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'), { source: path.resolve(file) });
  let errors = 0;
  for (const d of diagnostics) {
    const severity = severities[d.severity] || String(d.severity);
    if (d.severity === 0) {
      errors++;
    }
    console.log(`${severity} ${d.code} at ${(d.path || []).join('/')}: ${d.message}`);
  }
  console.log(`@asyncapi/parser ${version}: ${document ? 'parsed' : 'no document'}, ${errors} error(s), ${diagnostics.length} diagnostic(s)`);
  process.exit(document && errors === 0 ? 0 : 1);
})().catch(e => {
  console.error(`parser failed: ${e.stack || e}`);
  process.exit(1);
});
