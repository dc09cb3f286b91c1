import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * The validator every plan schema is compiled with: JSON Schema draft 2020-12, the formats of
 * ajv-formats (`date-time`, `email`, `uri`, …), every error of an event reported (not only the first),
 * each with the value it was given. An unknown keyword in a plan is an error (a misspelt `minimum`
 * would silently check nothing); keywords without a `type` beside them are valid JSON Schema and
 * accepted (`{"minimum": 0}`), as are `required` names a schema does not list.
 */
export function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  // ajv-formats is CommonJS: its default export is the plugin under NodeNext's interop.
  (addFormats as unknown as (ajv: Ajv2020) => Ajv2020)(ajv);
  return ajv;
}
