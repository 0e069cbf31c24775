#!/usr/bin/env node
// Validate a .glb with the Khronos glTF validator (npm "gltf-validator") and print its JSON report.
// Usage: node validate.js NODE_MODULES_DIR FILE
// Exit status: 0 valid, 1 errors in the report, 2 could not validate.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [modules, file] = process.argv.slice(2);
  const validator = require(path.join(modules, 'gltf-validator'));
  const data = fs.readFileSync(path.resolve(file));
  const report = await validator.validateBytes(new Uint8Array(data), {
    uri: path.basename(file), maxIssues: 50, writeTimestamp: false,
  });
  process.stdout.write(JSON.stringify(report) + '\n');
  return report.issues.numErrors > 0 ? 1 : 0;
}

main().then((code) => { process.exitCode = code; },
  (err) => { process.stderr.write(String(err && err.stack ? err.stack : err) + '\n'); process.exitCode = 2; });
