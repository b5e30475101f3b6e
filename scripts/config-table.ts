// Prints the config keys as a Markdown table (pasted into README.md, so the README and the schema agree).
import { describeKeys } from '../src/config/schema.ts';

console.log('| key | type | default | meaning |\n|---|---|---|---|');
for (const d of describeKeys()) {
  console.log(`| \`${d.key}\` | ${d.type.replace(/\|/g, '\\|')} | \`${JSON.stringify(d.default)}\` | ${d.help.replace(/\|/g, '\\|')} |`);
}
