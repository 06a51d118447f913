// validate.js FILE - validate an OpenAPI document (3.0 or 3.1) with
// @apidevtools/swagger-parser (pinned in package-lock.json): schema validation
// of the document, then its $refs are resolved and spec rules checked (unique
// operationIds, path parameters declared, ...). Exit 0 when valid; 1 with the
// reason on stderr otherwise; 2 on usage errors.
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node validate.js FILE");
    process.exit(2);
  }
  try {
    const api = await SwaggerParser.validate(file);
    console.log("valid: %s %s, OpenAPI %s, %d paths", api.info.title, api.info.version,
                api.openapi, Object.keys(api.paths || {}).length);
  } catch (err) {
    console.error("invalid: %s", err && err.message ? err.message : err);
    if (err && err.details)
      console.error(JSON.stringify(err.details, null, 1).slice(0, 4000));
    process.exit(1);
  }
}

main();
