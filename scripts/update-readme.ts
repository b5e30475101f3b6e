// Rewrites the generated parts of README.md in place: the config-key table between the
// <!-- config-keys --> markers. test/readme.test.ts fails while README.md is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { configKeysMarkdown, replaceBetweenMarkers } from '../src/config/markdown.ts';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
writeFileSync(path, replaceBetweenMarkers(readme, 'config-keys', configKeysMarkdown()));
console.log('README.md: config keys updated');
