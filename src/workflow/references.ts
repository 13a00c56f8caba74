import type { Reference } from '@medplum/fhirtypes';

/** `Type/id` of a reference to `type` (relative, absolute or versioned), or undefined for anything else. */
export function targetId(reference: Reference | undefined, type: string): string | undefined {
  const match = patternOf(type).exec(reference?.reference ?? '');
  return match?.[1];
}

// One compiled pattern per type: every rule parses references on every write.
const patterns = new Map<string, RegExp>();

function patternOf(type: string): RegExp {
  let pattern = patterns.get(type);
  if (!pattern) patterns.set(type, (pattern = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`)));
  return pattern;
}
