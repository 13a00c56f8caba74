import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isObject, type JsonObject } from './json-items.js';
import { prepareSchema, SCHEMA_ID } from './schema-prep.js';

/** An ajv error, its `instancePath` made absolute from the top-level resource. */
export interface StructureError {
  readonly pointer: string;
  readonly error: ErrorObject;
}

/**
 * Structural validation against the official R4 JSON schema with ajv: unknown elements,
 * JSON types, arrays vs single values, primitive formats. One validator per resource type,
 * compiled on first use and kept; contained resources are validated with their own type's
 * validator (see `prepareSchema`).
 */
export class StructureValidator {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction | undefined>();
  private readonly resourceTypes: ReadonlySet<string>;

  constructor(officialSchema: Record<string, unknown>) {
    const schema = prepareSchema(officialSchema);
    const mapping = ((officialSchema.discriminator as { mapping?: Record<string, string> } | undefined)?.mapping ?? {}) as Record<string, string>;
    this.resourceTypes = new Set(Object.keys(mapping));
    // strict: false because the FHIR schema uses draft-06 idioms and annotation keywords ajv's
    // strict mode rejects; verbose: true so errors carry the offending value for messages.
    this.ajv = new Ajv({ strict: false, allErrors: true, verbose: true, validateSchema: false });
    this.ajv.addSchema(schema);
  }

  /** Compiles the validators of the given types now, so the first request does not pay for it. */
  warm(types: readonly string[]): void {
    for (const t of types) this.validatorFor(t);
  }

  /** All structural errors of a resource and of its contained resources. */
  validate(resource: JsonObject, pointer = ''): StructureError[] {
    const type = resource.resourceType;
    const validator = typeof type === 'string' ? this.validatorFor(type) : undefined;
    if (!validator) {
      const error: ErrorObject = {
        instancePath: `${pointer}/resourceType`,
        schemaPath: '#/resourceType',
        keyword: 'resourceType',
        params: { resourceType: type },
        message: 'unknown resource type',
        data: type,
      };
      return [{ pointer: `${pointer}/resourceType`, error }];
    }
    const errors: StructureError[] = [];
    if (!validator(resource)) {
      for (const error of validator.errors ?? []) errors.push({ pointer: `${pointer}${error.instancePath}`, error });
    }
    if (Array.isArray(resource.contained)) {
      resource.contained.forEach((c, i) => {
        if (isObject(c)) errors.push(...this.validate(c, `${pointer}/contained/${i}`));
      });
    }
    return errors;
  }

  private validatorFor(type: string): ValidateFunction | undefined {
    if (!this.validators.has(type)) {
      this.validators.set(type, this.resourceTypes.has(type) ? this.ajv.getSchema(`${SCHEMA_ID}#/definitions/${type}`) : undefined);
    }
    return this.validators.get(type);
  }
}
