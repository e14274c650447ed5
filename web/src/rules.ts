// The contract's request rules (buf.validate annotations in protos/, read from the generated
// descriptors by protovalidate), checked in the page before anything is sent: the same rules and
// the same field paths the services check, so an invalid form never leaves the browser.
import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Violation } from "@bufbuild/protovalidate";

const validator = createValidator();

/** Where a violation is reported. A rule of a whole message names the field it is about before
 * the last dot of its id ("fecha_llegada.posterior" is reported at fecha_llegada), as the
 * services report it (the convention is written in the protos). */
function fieldPath(violation: Violation): string {
  const path = pathToString(violation.field);
  const [first] = violation.rule;
  const ofMessage = !first || (first.kind === "field" && first.parent.typeName === "buf.validate.MessageRules");
  const dot = violation.ruleId.lastIndexOf(".");
  if (!ofMessage || dot <= 0) return path;
  const field = violation.ruleId.slice(0, dot);
  return path ? `${path}.${field}` : field;
}

export type Checked<Desc extends DescMessage> =
  | { ok: true; request: MessageShape<Desc> }
  | { ok: false; fields: Map<string, string> };

/** The request built from ``init``, or its violations: field path -> message (the first per field). */
export function check<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Checked<Desc> {
  const request = create(schema, init);
  const result = validator.validate(schema, request);
  if (result.kind === "invalid") {
    const fields = new Map<string, string>();
    for (const violation of result.violations) {
      const path = fieldPath(violation);
      if (!fields.has(path)) fields.set(path, violation.message);
    }
    // A list refused as a whole (too many items) speaks for its items, as the services answer.
    for (const path of fields.keys()) {
      if ([...fields.keys()].some((list) => path.startsWith(`${list}[`))) fields.delete(path);
    }
    return { ok: false, fields };
  }
  // A rule the page cannot evaluate is our bug, not the user's: say so, and let the service decide.
  if (result.kind === "error") console.error(`protovalidate: ${schema.typeName}: ${result.error.message}`);
  return { ok: true, request };
}

/** Compiles the forms' rules once the page is idle (the first check of a booking compiles its CEL
 * and regular expressions: ~0.1 s), so a submit only evaluates them. */
export function prepare(...schemas: DescMessage[]): void {
  setTimeout(() => {
    for (const schema of schemas) validator.validate(schema, create(schema));
  }, 0);
}
