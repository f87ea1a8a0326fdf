#!/usr/bin/env node
// Writes config.json (the app's runtime configuration) into a built app.
//
//   node scripts/write-config.mjs <apiBaseUrl | path/to/outputs.json> [outDir]
//
// The first argument is either the API base URL (e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1)
// or a deploy outputs file such as .stacks/<stack>/outputs.json containing {"apiUrl": "https://.../v1"}.
// outDir defaults to ./www (the production build).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

function fail(message) {
  console.error(`write-config: ${message}`);
  console.error('usage: node scripts/write-config.mjs <apiBaseUrl | outputs.json> [outDir]');
  process.exit(2);
}

const [source, outDirArg = 'www'] = process.argv.slice(2);
if (!source) fail('missing <apiBaseUrl | outputs.json>');

let url = source;
if (!/^https?:\/\//i.test(source)) {
  if (!existsSync(source) || !statSync(source).isFile()) fail(`"${source}" is neither an http(s) URL nor a file`);
  let outputs;
  try {
    outputs = JSON.parse(readFileSync(source, 'utf8'));
  } catch (err) {
    fail(`cannot parse ${source}: ${err.message}`);
  }
  url = outputs?.apiUrl ?? outputs?.apiBaseUrl;
  if (typeof url !== 'string') fail(`${source} has no "apiUrl" string`);
}

let parsed;
try {
  parsed = new URL(url);
} catch {
  fail(`invalid URL: ${url}`);
}
if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`not an http(s) URL: ${url}`);

const apiBaseUrl = url.trim().replace(/\/+$/, '');
const outDir = resolve(outDirArg);
mkdirSync(outDir, { recursive: true });
const file = join(outDir, 'config.json');
writeFileSync(file, `${JSON.stringify({ apiBaseUrl }, null, 2)}\n`);
console.log(`write-config: ${file} -> ${apiBaseUrl}`);
